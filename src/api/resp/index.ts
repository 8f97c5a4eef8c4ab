export { RespServer, type RespServerOptions, type RespLogger } from './server.js';
export type { InfoSnapshot } from './info.js';
export { RespParser, RespProtocolError, splitInlineArgs, type RespParserLimits } from './parser.js';
export { RespWriter, encodeReply, type ProtocolVersion } from './writer.js';
export { pickLastWriter } from './last-writer.js';
