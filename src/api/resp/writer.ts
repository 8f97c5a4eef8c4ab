import type { Reply } from './reply.js';

export type ProtocolVersion = 2 | 3;

const INITIAL_BYTES = 16 * 1024;
/** below Buffer.poolSize / 2, allocUnsafe slices Node's shared pool instead of allocating */
const SMALL_COPY_BYTES = 2 * 1024;
const CRLF = '\r\n';

/**
 * Encodes replies into one growing buffer, so a batch of pipelined replies leaves as one socket
 * write. `take()` hands the bytes over: a copy when small, else the buffer itself (the socket may
 * still hold it while the writer starts a fresh one). Small replies are written with latin1/utf8 string writes straight into the buffer: no
 * intermediate strings per reply beyond the header digits.
 */
export class RespWriter {
  private buf: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private used = 0;

  get length(): number {
    return this.used;
  }

  /** the bytes written since the last take(), as a buffer the writer will not touch again */
  take(): Buffer {
    let out: Buffer;
    if (this.used <= SMALL_COPY_BYTES) {
      // a small batch (the usual unpipelined reply) is copied into Node's pooled slab, and the big
      // buffer is kept for the next batch: no fresh 16 KiB allocation per reply
      out = Buffer.allocUnsafe(this.used);
      this.buf.copy(out, 0, 0, this.used);
    } else {
      out = this.buf.subarray(0, this.used);
      this.buf = Buffer.allocUnsafe(Math.max(INITIAL_BYTES, Math.min(this.used, 1024 * 1024)));
    }
    this.used = 0;
    return out;
  }

  write(reply: Reply, protocol: ProtocolVersion): void {
    switch (reply.t) {
      case 'simple':
        this.ascii('+');
        this.line(reply.s);
        return;
      case 'error':
        this.ascii('-');
        this.line(reply.s);
        return;
      case 'int':
        this.ascii(`:${reply.n}\r\n`);
        return;
      case 'bulk':
        this.bulk(reply.b);
        return;
      case 'null':
        this.ascii(protocol === 3 ? '_\r\n' : '$-1\r\n');
        return;
      case 'nullArray':
        this.ascii(protocol === 3 ? '_\r\n' : '*-1\r\n');
        return;
      case 'array':
        this.ascii(`*${reply.items.length}\r\n`);
        for (const item of reply.items) this.write(item, protocol);
        return;
      case 'set':
        this.ascii(`${protocol === 3 ? '~' : '*'}${reply.items.length}\r\n`);
        for (const item of reply.items) this.write(item, protocol);
        return;
      case 'map':
        this.ascii(protocol === 3 ? `%${reply.entries.length}\r\n` : `*${reply.entries.length * 2}\r\n`);
        for (const [k, v] of reply.entries) {
          this.write(k, protocol);
          this.write(v, protocol);
        }
        return;
      case 'bool':
        this.ascii(protocol === 3 ? (reply.v ? '#t\r\n' : '#f\r\n') : reply.v ? ':1\r\n' : ':0\r\n');
        return;
      case 'verbatim':
        if (protocol === 3) {
          const body = Buffer.from(`${reply.format}:${reply.s}`, 'utf8');
          this.ascii(`=${body.length}\r\n`);
          this.bytes(body);
          this.ascii(CRLF);
        } else {
          this.bulk(reply.s);
        }
        return;
    }
  }

  private bulk(b: Uint8Array | string): void {
    if (typeof b === 'string') {
      const size = Buffer.byteLength(b, 'utf8');
      this.ascii(`$${size}\r\n`);
      this.reserve(size + 2);
      this.used += this.buf.write(b, this.used, size, 'utf8');
      this.ascii(CRLF);
      return;
    }
    this.ascii(`$${b.length}\r\n`);
    this.bytes(b);
    this.ascii(CRLF);
  }

  /** a simple-string or error line: CR and LF would break framing, so they become spaces (as Redis does) */
  private line(s: string): void {
    const safe = s.includes('\r') || s.includes('\n') ? s.replace(/[\r\n]/g, ' ') : s;
    const size = Buffer.byteLength(safe, 'utf8');
    this.reserve(size + 2);
    this.used += this.buf.write(safe, this.used, size, 'utf8');
    this.ascii(CRLF);
  }

  private ascii(s: string): void {
    this.reserve(s.length);
    this.used += this.buf.write(s, this.used, s.length, 'latin1');
  }

  private bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  private reserve(extra: number): void {
    const need = this.used + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
}

/** encodes one reply on its own (tests, one-off error lines) */
export function encodeReply(reply: Reply, protocol: ProtocolVersion = 2): Buffer {
  const w = new RespWriter();
  w.write(reply, protocol);
  return w.take();
}
