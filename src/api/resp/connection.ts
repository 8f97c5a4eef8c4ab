import type { Socket } from 'node:net';
import { arityMatches, commandKeys, type CommandResult, type CommandSpec, type ServerContext, type Session } from './command.js';
import { isRingkvError } from '../../core/errors.js';
import type { CommandLookup } from './command-table.js';
import { KeyOrder } from './key-order.js';
import { RespParser, RespProtocolError, type RespParserLimits } from './parser.js';
import { NOAUTH, errorReply, unknownCommand, wrongArity } from './redis-errors.js';
import { err, type Reply } from './reply.js';
import { RespWriter, type ProtocolVersion } from './writer.js';
import type { RespLogger } from './server.js';

/** A reply waiting for the replies before it: clients match replies to commands by order alone. */
interface Slot {
  reply: Reply | null;
  protocol: ProtocolVersion;
  /** close the connection once this reply is written (QUIT, protocol error) */
  closeAfter: boolean;
  /** argument bytes the command holds until it is answered */
  argBytes: number;
}

export interface ConnectionOptions {
  socket: Socket;
  id: number;
  ctx: ServerContext;
  commands: CommandLookup;
  logger: RespLogger;
  parserLimits: Partial<RespParserLimits>;
  /** stop reading from the socket while this many replies are outstanding */
  maxPendingReplies: number;
  /** stop reading while the commands awaiting replies hold this many argument bytes */
  maxPendingBytes: number;
  onClose: () => void;
}

/**
 * One client: parses its byte stream, runs each command (concurrently across keys, in order per key),
 * and writes the replies in command order, batched into one socket write per event-loop turn.
 * Reading pauses while the client does not read its replies or has too many outstanding, so a
 * client cannot make the node buffer without bound.
 */
export class RespConnection {
  readonly session: Session;
  private readonly socket: Socket;
  private readonly ctx: ServerContext;
  private readonly commands: CommandLookup;
  private readonly logger: RespLogger;
  private readonly maxPendingReplies: number;
  private readonly maxPendingBytes: number;
  /** argument bytes held by commands still running (their args are views into received chunks) */
  private pendingBytes = 0;
  private readonly parser: RespParser;
  private readonly writer = new RespWriter();
  private readonly keyOrder = new KeyOrder();
  private readonly slots: Slot[] = [];
  private slotsHead = 0;
  private flushScheduled = false;
  /** no more commands are accepted (QUIT or protocol error seen) */
  private closing = false;
  private endAfterFlush = false;
  private waitingForDrain = false;
  private readPaused = false;
  private closed = false;

  constructor(opts: ConnectionOptions) {
    this.socket = opts.socket;
    this.ctx = opts.ctx;
    this.commands = opts.commands;
    this.logger = opts.logger;
    this.maxPendingReplies = opts.maxPendingReplies;
    this.maxPendingBytes = opts.maxPendingBytes;
    this.parser = new RespParser(opts.parserLimits);
    const nowMs = Date.now();
    this.session = {
      id: opts.id,
      remoteAddress: `${opts.socket.remoteAddress ?? '?'}:${opts.socket.remotePort ?? 0}`,
      connectedAtMs: nowMs,
      protocol: 2,
      authenticated: opts.ctx.password === undefined,
      name: null,
      libName: '',
      libVersion: '',
      lastCommand: 'NULL',
      lastCommandAtMs: nowMs,
      quitRequested: false,
    };
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 60_000);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => {
      this.waitingForDrain = false;
      this.updateReadPause();
    });
    this.socket.on('error', (e) => this.logger.debug({ err: e, client: this.session.id }, 'resp client socket error'));
    this.socket.on('close', () => {
      this.closed = true;
      opts.onClose();
    });
  }

  /** drops the connection now, replies in flight are discarded */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private get pendingReplies(): number {
    return this.slots.length - this.slotsHead;
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.parser.feed(chunk, (args) => this.onCommand(args));
    } catch (e) {
      // nothing a client sends may take the node down: anything thrown here ends this connection only
      if (e instanceof RespProtocolError) {
        this.ctx.stats.protocolErrors++;
        this.logger.debug({ client: this.session.id, reason: e.message }, 'resp protocol error, closing connection');
      } else {
        this.logger.error({ err: e, client: this.session.id }, 'resp connection failed unexpectedly, closing it');
      }
      this.closing = true;
      this.enqueue(err(e instanceof RespProtocolError ? `ERR ${e.message}` : 'ERR internal error, closing the connection'), this.session.protocol, true);
    }
    this.scheduleFlush();
    this.updateReadPause();
  }

  private onCommand(args: Buffer[]): void {
    if (this.closing) return;
    const result = this.dispatch(args);
    const quit = this.session.quitRequested;
    if (quit) this.closing = true;
    // the protocol as of after the command ran: HELLO 3 answers in RESP3
    this.enqueue(result, this.session.protocol, quit, result instanceof Promise ? argBytesOf(args) : 0);
  }

  private dispatch(args: Buffer[]): CommandResult {
    const ctx = this.ctx;
    const session = this.session;
    ctx.stats.commandsProcessed++;
    const spec = this.commands.find(args[0]);
    session.lastCommand = spec === undefined ? 'unknown' : spec.name;
    ctx.stats.commandsByName.set(session.lastCommand, (ctx.stats.commandsByName.get(session.lastCommand) ?? 0) + 1);
    session.lastCommandAtMs = Date.now();
    if (spec === undefined) return unknownCommand(args);
    if (!session.authenticated && !spec.flags.includes('no-auth')) return NOAUTH;
    if (!arityMatches(spec.arity, args.length)) return wrongArity(spec.name);
    try {
      if (spec.access === 'none') return spec.run(args, session, ctx);
      const keys = spec.firstKey === 1 && spec.lastKey === 1 ? [args[1]] : commandKeys(spec, args);
      const access = spec.accessOf === undefined ? spec.access : spec.accessOf(args);
      return this.keyOrder.run(keys, access, () => {
        const r = spec.run(args, session, ctx);
        return r instanceof Promise ? r : Promise.resolve(r);
      });
    } catch (e) {
      return this.failed(spec, e);
    }
  }

  private failed(spec: CommandSpec, e: unknown): Reply {
    const reply = errorReply(e);
    if (!isRingkvError(e)) {
      this.logger.error({ err: e, command: spec.name, client: this.session.id }, 'resp command failed unexpectedly');
    }
    return reply;
  }

  private enqueue(result: CommandResult, protocol: ProtocolVersion, closeAfter: boolean, argBytes = 0): void {
    if (!(result instanceof Promise)) {
      if (this.pendingReplies === 0) {
        this.emit(result, protocol, closeAfter);
        return;
      }
      this.slots.push({ reply: result, protocol, closeAfter, argBytes: 0 });
      return;
    }
    const slot: Slot = { reply: null, protocol, closeAfter, argBytes };
    this.pendingBytes += argBytes;
    this.slots.push(slot);
    result.then(
      (reply) => {
        slot.reply = reply;
        this.drain();
      },
      (e: unknown) => {
        slot.reply = errorReply(e);
        if (!isRingkvError(e)) {
          this.logger.error({ err: e, client: this.session.id }, 'resp command failed unexpectedly');
        }
        this.drain();
      },
    );
  }

  /** writes the replies at the head of the queue that are ready */
  private drain(): void {
    if (this.closed) return;
    const slots = this.slots;
    while (this.slotsHead < slots.length) {
      const slot = slots[this.slotsHead];
      if (slot.reply === null) break;
      this.slotsHead++;
      this.pendingBytes -= slot.argBytes;
      this.emit(slot.reply, slot.protocol, slot.closeAfter);
    }
    if (this.slotsHead === slots.length) {
      slots.length = 0;
      this.slotsHead = 0;
    } else if (this.slotsHead > 1024 && this.slotsHead * 2 > slots.length) {
      slots.splice(0, this.slotsHead);
      this.slotsHead = 0;
    }
    this.scheduleFlush();
    this.updateReadPause();
  }

  private emit(reply: Reply, protocol: ProtocolVersion, closeAfter: boolean): void {
    if (this.endAfterFlush) return;
    if (reply.t === 'error') this.ctx.stats.errorReplies++;
    this.writer.write(reply, protocol);
    if (closeAfter) this.endAfterFlush = true;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.writer.length === 0) return;
    this.flushScheduled = true;
    // setImmediate runs after this turn's I/O callbacks and their promise jobs: replies completed in
    // the same turn leave in one write
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    if (this.writer.length > 0 && !this.socket.write(this.writer.take())) {
      this.waitingForDrain = true;
      this.updateReadPause();
    }
    if (this.endAfterFlush) {
      this.socket.end();
      // a client that never reads must not keep the socket open forever
      setTimeout(() => this.socket.destroy(), 5_000).unref();
    }
  }

  private updateReadPause(): void {
    if (this.closed) return;
    const shouldPause =
      this.waitingForDrain || this.pendingReplies >= this.maxPendingReplies || this.pendingBytes >= this.maxPendingBytes;
    if (shouldPause === this.readPaused) return;
    this.readPaused = shouldPause;
    if (shouldPause) this.socket.pause();
    else this.socket.resume();
  }
}

function argBytesOf(args: readonly Buffer[]): number {
  let n = 0;
  for (const a of args) n += a.length;
  return n;
}
