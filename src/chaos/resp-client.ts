/**
 * A minimal RESP2 client for the workloads: one connection, one command at a time, a time limit per
 * command. Unlike a full client library it never retries, queues or reconnects behind the caller's
 * back, so the history knows exactly what was sent: a failure says whether the command may have
 * reached the server (`mayHaveReached`).
 */
import { connect, type Socket } from 'node:net';

export type RespReply = { kind: 'simple'; value: string } | { kind: 'error'; value: string } | { kind: 'integer'; value: bigint } | { kind: 'bulk'; value: Buffer | null } | { kind: 'array'; value: RespReply[] | null };

export class RespCallError extends Error {
  constructor(
    message: string,
    readonly mayHaveReached: boolean,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'RespCallError';
  }
}

/** parses one reply from buf at offset; undefined when incomplete */
export function parseReply(buf: Buffer, offset = 0): { reply: RespReply; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const prefix = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (prefix) {
    case '+':
      return { reply: { kind: 'simple', value: line }, next: after };
    case '-':
      return { reply: { kind: 'error', value: line }, next: after };
    case ':':
      return { reply: { kind: 'integer', value: BigInt(line) }, next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: { kind: 'bulk', value: null }, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { reply: { kind: 'bulk', value: buf.subarray(after, after + len) }, next: after + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: { kind: 'array', value: null }, next: after };
      const items: RespReply[] = [];
      let at = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        items.push(item.reply);
        at = item.next;
      }
      return { reply: { kind: 'array', value: items }, next: at };
    }
    default:
      throw new Error(`unexpected RESP reply type byte ${JSON.stringify(prefix)}`);
  }
}

export function encodeCommand(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespConnection {
  private socket: Socket | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** sends one command and waits for its reply; any failure closes the connection (the next call reconnects) */
  async call(args: Array<string | Buffer>, timeoutMs: number): Promise<RespReply> {
    const deadline = Date.now() + timeoutMs;
    if (!this.socket) await this.open(timeoutMs);
    const socket = this.socket!;
    return new Promise<RespReply>((resolve, reject) => {
      let buf: Buffer = Buffer.alloc(0);
      const finish = (err: RespCallError | undefined, reply?: RespReply): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onError);
        if (err) {
          this.close();
          reject(err);
        } else resolve(reply!);
      };
      const onData = (chunk: Buffer): void => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        let parsed;
        try {
          parsed = parseReply(buf);
        } catch (e) {
          finish(new RespCallError((e as Error).message, true, false));
          return;
        }
        if (parsed) finish(undefined, parsed.reply);
      };
      const onClose = (): void => finish(new RespCallError(`connection to ${this.host}:${this.port} closed before the reply`, true, false));
      const onError = (e: Error): void => finish(new RespCallError(`connection to ${this.host}:${this.port}: ${e.message}`, true, false));
      const timer = setTimeout(() => finish(new RespCallError(`no reply from ${this.host}:${this.port} within ${timeoutMs} ms`, true, true)), Math.max(1, deadline - Date.now()));
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.once('error', onError);
      socket.write(encodeCommand(args));
    });
  }

  private open(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RespCallError(`could not connect to ${this.host}:${this.port} within ${timeoutMs} ms`, false, true));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.on('error', () => {}); // reported to the call in progress
        this.socket = socket;
        resolve();
      });
      const onError = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new RespCallError(`could not connect to ${this.host}:${this.port}: ${e.message}`, false, false));
      };
      socket.once('error', onError);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
