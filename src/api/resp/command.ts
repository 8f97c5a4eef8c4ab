import type { KvService } from '../../cluster/kv-service.js';
import type { InfoSnapshot } from './info.js';
import type { Access } from './key-order.js';
import type { Reply } from './reply.js';
import type { ReadCombiner } from './read-combiner.js';
import type { SetCombiner } from './set-combiner.js';
import type { ProtocolVersion } from './writer.js';

/** What one client connection carries between commands. */
export interface Session {
  readonly id: number;
  readonly remoteAddress: string;
  readonly connectedAtMs: number;
  protocol: ProtocolVersion;
  authenticated: boolean;
  name: string | null;
  libName: string;
  libVersion: string;
  lastCommand: string;
  lastCommandAtMs: number;
  /** QUIT seen: answer it, then close; ignore anything pipelined after it */
  quitRequested: boolean;
}

export interface RespStats {
  connectionsReceived: number;
  connectionsRejected: number;
  commandsProcessed: number;
  protocolErrors: number;
  errorReplies: number;
  /** commands by name as COMMAND lists them ('unknown' for the rest), for ringkv_resp_commands_total */
  commandsByName: Map<string, number>;
}

/** What command handlers may use of the server. */
export interface ServerContext {
  readonly kv: KvService;
  readonly nodeId: string;
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxClients: number;
  readonly startedAtMs: number;
  readonly stats: RespStats;
  /** node-wide: plain SETs of a key go through it (see set-combiner.ts) */
  readonly setCombiner: SetCombiner;
  /** node-wide: reads of a key share one quorum read while another is in flight (see read-combiner.ts) */
  readonly readCombiner: ReadCombiner;
  info(): InfoSnapshot;
  sessions(): Iterable<Session>;
}

export type CommandResult = Reply | Promise<Reply>;

/** The key-position fields of a command that takes no keys. */
export const KEYLESS = { firstKey: 0, lastKey: 0, keyStep: 0, access: 'none' as const };

export interface CommandSpec {
  /** lower case, as COMMAND reports it */
  readonly name: string;
  /** Redis convention: n = exactly n words including the name, -n = at least n */
  readonly arity: number;
  readonly flags: readonly string[];
  /** key positions for COMMAND and for ordering: first, last (-1 = last argument), step; 0 = no keys */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  readonly group: string;
  readonly since: string;
  readonly summary: string;
  /**
   * How a command orders against earlier commands of the same connection that are still running on
   * the same keys: a read waits for earlier writes, a write waits for earlier reads and writes.
   * Commands on different keys run concurrently (that is what makes pipelining fast).
   */
  readonly access: 'none' | 'read' | 'write';
  /** a finer access for some invocations (a plain SET is a 'set', see key-order.ts) */
  accessOf?(args: readonly Buffer[]): Access;
  /** called with arity already checked and the session authenticated (unless flagged no-auth) */
  run(args: Buffer[], session: Session, ctx: ServerContext): CommandResult;
}

/** the key arguments of a command, per its spec */
export function commandKeys(spec: CommandSpec, args: readonly Buffer[]): Buffer[] {
  if (spec.firstKey === 0) return [];
  const last = spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey;
  const keys: Buffer[] = [];
  for (let i = spec.firstKey; i <= last && i < args.length; i += spec.keyStep) keys.push(args[i]);
  return keys;
}

export function arityMatches(arity: number, argCount: number): boolean {
  return arity >= 0 ? argCount === arity : argCount >= -arity;
}
