export { RingkvClient, RingkvClientError, type GetOptions, type GetResponse, type RingkvClientOptions, type WriteOptions } from './ringkv-client.js';
export { encodeKeyForPath } from './key-path.js';
