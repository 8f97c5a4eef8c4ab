import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import type { KvService } from '../../../src/cluster/kv-service.js';
import { RespServer, type RespServerOptions } from '../../../src/api/resp/server.js';
import type { InfoSnapshot } from '../../../src/api/resp/info.js';
import { FakeKv } from './fake-kv.js';

export const silentLogger = pino({ level: 'silent' });

export function fakeInfo(kv: FakeKv | KvService): () => InfoSnapshot {
  return () => ({
    nodeId: 'n1',
    members: [
      { id: 'n1', address: '127.0.0.1:9001', status: 'up' },
      { id: 'n2', address: '127.0.0.1:9002', status: 'suspect' },
    ],
    ringPartitions: 256,
    n: 3,
    r: 2,
    w: 2,
    keysEstimate: kv instanceof FakeKv ? kv.size : 0,
    uptimeMs: 12_345,
  });
}

/** a RespServer on a free 127.0.0.1 port over a FakeKv */
export async function startServer(
  overrides: Partial<RespServerOptions> = {},
): Promise<{ server: RespServer; kv: FakeKv; port: number }> {
  const kv = (overrides.kv as FakeKv | undefined) ?? new FakeKv();
  const server = new RespServer({
    kv,
    host: '127.0.0.1',
    port: 0,
    maxValueBytes: 1024 * 1024,
    maxKeyBytes: 1024,
    nodeId: 'n1',
    logger: silentLogger,
    info: fakeInfo(kv),
    ...overrides,
  });
  await server.listen();
  return { server, kv, port: server.port };
}

/** a raw client: send bytes, read until a predicate holds on everything received, see close */
export class RawClient {
  private readonly socket: Socket;
  private received = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  /** waits until the received text ends with / has `until` (or matches it), or the socket closes */
  async read(until: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!until(this.text) && !this.closed) {
      if (Date.now() > deadline) throw new Error(`timed out; received so far: ${JSON.stringify(this.text.slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.text;
  }

  /** sends, waits for `count` CRLF-terminated lines beyond what was received before, returns the new text */
  async roundTrip(data: string | Uint8Array, expectedText: string): Promise<string> {
    const before = this.received.length;
    this.send(data);
    await this.read((t) => t.length - before >= expectedText.length);
    return this.text.slice(before);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.read(() => false, timeoutMs).catch((e: unknown) => {
      if (!this.closed) throw e;
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export function cmd(...args: Array<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** a decoded reply: RESP3 types keep a tag so tests can tell them apart */
export type Decoded =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | Decoded[]
  | { error: string }
  | { map: Array<[Decoded, Decoded]> }
  | { set: Decoded[] }
  | { verbatim: string };

/**
 * Decodes one reply at `offset`; returns it and the offset after it, or undefined when incomplete.
 * Simple strings come back as string, bulk strings as Buffer.
 */
export function decodeReply(buf: Buffer, offset = 0): { value: Decoded; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('latin1', offset + 1, lineEnd);
  const next = lineEnd + 2;
  const aggregate = (count: number): { items: Decoded[]; end: number } | undefined => {
    const items: Decoded[] = [];
    let at = next;
    for (let i = 0; i < count; i++) {
      const r = decodeReply(buf, at);
      if (r === undefined) return undefined;
      items.push(r.value);
      at = r.end;
    }
    return { items, end: at };
  };
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: { error: line }, end: next };
    case ':':
      return { value: Number(line), end: next };
    case '_':
      return { value: null, end: next };
    case '#':
      return { value: line === 't', end: next };
    case '$':
    case '=': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      const body = buf.subarray(next, next + n);
      return { value: type === '=' ? { verbatim: body.toString('utf8').slice(4) } : Buffer.from(body), end: next + n + 2 };
    }
    case '*':
    case '~': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const r = aggregate(n);
      if (r === undefined) return undefined;
      return { value: type === '~' ? { set: r.items } : r.items, end: r.end };
    }
    case '%': {
      const r = aggregate(Number(line) * 2);
      if (r === undefined) return undefined;
      const entries: Array<[Decoded, Decoded]> = [];
      for (let i = 0; i < r.items.length; i += 2) entries.push([r.items[i], r.items[i + 1]]);
      return { value: { map: entries }, end: r.end };
    }
    default:
      throw new Error(`cannot decode reply type ${JSON.stringify(type)}`);
  }
}

/** a client that sends commands and decodes whole replies */
export class DecodingClient {
  private consumed = 0;
  constructor(readonly raw: RawClient) {}

  static async open(port: number): Promise<DecodingClient> {
    return new DecodingClient(await RawClient.open(port));
  }

  /** sends the commands (pipelined, one write) and returns one decoded reply per command */
  async call(...commands: Array<Array<string | Uint8Array>>): Promise<Decoded[]> {
    this.raw.send(Buffer.concat(commands.map((c) => cmd(...c))));
    const replies: Decoded[] = [];
    while (replies.length < commands.length) {
      let decoded: { value: Decoded; end: number } | undefined;
      await this.raw.read(() => {
        decoded = decodeReply(Buffer.from(this.raw.text, 'latin1'), this.consumed);
        return decoded !== undefined;
      });
      if (decoded === undefined) throw new Error('connection closed before a full reply');
      replies.push(decoded.value);
      this.consumed = decoded.end;
    }
    return replies;
  }

  async one(...args: Array<string | Uint8Array>): Promise<Decoded> {
    return (await this.call(args))[0];
  }

  close(): void {
    this.raw.close();
  }
}
