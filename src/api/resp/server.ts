import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { KvService } from '../../cluster/kv-service.js';
import type { RespStats, ServerContext, Session } from './command.js';
import { CommandLookup, buildCommandTable } from './command-table.js';
import { RespConnection } from './connection.js';
import type { InfoSnapshot } from './info.js';
import type { RespParserLimits } from './parser.js';
import { overwrite } from './key-commands.js';
import { ReadCombiner } from './read-combiner.js';
import { SetCombiner } from './set-combiner.js';

/** the logging a RESP server does; a pino logger fits */
export type RespLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface RespServerOptions {
  kv: KvService;
  host: string;
  /** 0 picks a free port; read it back from `server.port` after listen() */
  port: number;
  /** when set, clients must AUTH (or HELLO … AUTH default <password>) first */
  password?: string;
  maxValueBytes: number;
  maxKeyBytes: number;
  nodeId: string;
  logger: RespLogger;
  info: () => InfoSnapshot;
  /** connections beyond this are answered with an error and closed @default 10000 */
  maxClients?: number;
  /** a connection stops being read while this many replies are outstanding @default 4096 */
  maxPendingRepliesPerConnection?: number;
  /** … or while its running commands hold this many argument bytes @default 64 MiB */
  maxPendingBytesPerConnection?: number;
  /** overrides of the request parser's bounds; bulk strings default to max(value, key) limit + 64 KiB */
  parserLimits?: Partial<RespParserLimits>;
}

/** slack over maxValueBytes so a slightly-too-large value gets a clean error reply, not a closed connection */
const BULK_SLACK_BYTES = 64 * 1024;

/** The Redis-protocol front end of one node: `new RespServer(opts)`, `await listen()`, `await close()`. */
export class RespServer {
  private readonly opts: RespServerOptions;
  private readonly server: Server;
  private readonly commands: CommandLookup;
  private readonly connections = new Set<RespConnection>();
  private readonly ctx: ServerContext;
  private readonly stats: RespStats = {
    connectionsReceived: 0,
    connectionsRejected: 0,
    commandsProcessed: 0,
    protocolErrors: 0,
    errorReplies: 0,
    commandsByName: new Map(),
  };
  private nextClientId = 1;
  private listening = false;

  constructor(opts: RespServerOptions) {
    this.opts = opts;
    this.commands = new CommandLookup(buildCommandTable());
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (e) => opts.logger.error({ err: e }, 'resp server error'));
    const startedAtMs = Date.now();
    const portOf = (): number => this.port;
    this.ctx = {
      kv: opts.kv,
      nodeId: opts.nodeId,
      host: opts.host,
      get port() {
        return portOf();
      },
      password: opts.password === undefined || opts.password === '' ? undefined : opts.password,
      maxKeyBytes: opts.maxKeyBytes,
      maxValueBytes: opts.maxValueBytes,
      maxClients: opts.maxClients ?? 10_000,
      startedAtMs,
      stats: this.stats,
      setCombiner: new SetCombiner((key, value) => overwrite(opts.kv, key, value)),
      readCombiner: new ReadCombiner((key) => opts.kv.get(key)),
      info: opts.info,
      sessions: () => [...this.connections].map((c): Session => c.session),
    };
  }

  /** the bound port (the configured one until listen() resolves) */
  get port(): number {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? (address as AddressInfo).port : this.opts.port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get statistics(): Readonly<RespStats> {
    return this.stats;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.listening = true;
    this.opts.logger.info({ host: this.opts.host, port: this.port }, 'resp listening');
  }

  /** stops accepting, drops every client connection, resolves when the listener is closed */
  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    await closed;
  }

  private accept(socket: Socket): void {
    this.stats.connectionsReceived++;
    if (this.connections.size >= this.ctx.maxClients) {
      this.stats.connectionsRejected++;
      socket.on('error', () => undefined);
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    const bulkLimit = Math.max(this.opts.maxValueBytes, this.opts.maxKeyBytes) + BULK_SLACK_BYTES;
    const connection: RespConnection = new RespConnection({
      socket,
      id: this.nextClientId++,
      ctx: this.ctx,
      commands: this.commands,
      logger: this.opts.logger,
      parserLimits: { maxBulkBytes: bulkLimit, ...this.opts.parserLimits },
      maxPendingReplies: this.opts.maxPendingRepliesPerConnection ?? 4096,
      maxPendingBytes: this.opts.maxPendingBytesPerConnection ?? 64 * 1024 * 1024,
      onClose: () => this.connections.delete(connection),
    });
    this.connections.add(connection);
  }
}
