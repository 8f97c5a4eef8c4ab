/**
 * Incremental RESP2 request parser: arrays of bulk strings (what every client library sends) and
 * inline commands (what a human types into telnet). Input may be split anywhere and pipelined; each
 * complete command is handed to `onCommand` as soon as its last byte arrives.
 *
 * Bounded on purpose (a client must not be able to make the node allocate without limit): a bulk
 * string longer than `maxBulkBytes`, an array longer than `maxArrayLength`, an inline line longer
 * than `maxInlineBytes`, or a command holding more than `maxCommandBytes` (payload plus a per-argument
 * overhead, so a million empty arguments also count) throws RespProtocolError. The caller answers
 * `-ERR Protocol error: …` and closes the connection; the parser is then poisoned.
 *
 * The hot path does no per-byte allocation: integers in `*` and `$` headers are parsed from the bytes
 * in place, and a bulk string wholly inside the received chunk is a zero-copy subarray of it. Only a
 * bulk string split across chunks is copied (once, into a buffer of its declared size).
 */

export class RespProtocolError extends Error {
  constructor(message: string) {
    super(`Protocol error: ${message}`);
    this.name = 'RespProtocolError';
  }
}

export interface RespParserLimits {
  /** longest bulk string accepted @default 1 MiB + 64 KiB */
  maxBulkBytes: number;
  /** most arguments in one command @default 1048576 (Redis's limit) */
  maxArrayLength: number;
  /** longest inline command line @default 65536 (Redis's PROTO_INLINE_MAX_SIZE) */
  maxInlineBytes: number;
  /** most bytes one command may hold while being received (payload + 64 per argument) @default 128 MiB */
  maxCommandBytes: number;
}

export const DEFAULT_PARSER_LIMITS: RespParserLimits = {
  maxBulkBytes: 1024 * 1024 + 64 * 1024,
  maxArrayLength: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
  maxCommandBytes: 128 * 1024 * 1024,
};

/** accounted per argument so that many tiny arguments cannot dodge maxCommandBytes */
const ARG_OVERHEAD_BYTES = 64;
/** a `*`/`$` header line longer than this without CRLF is garbage, not a slow sender */
const MAX_HEADER_LINE_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

const enum State {
  /** expecting the first byte of a command */
  Start,
  /** inside an array: expecting a `$` header for the next argument */
  BulkHeader,
  /** a bulk string is split across chunks: filling `bulk` */
  BulkFill,
}

/** parseInteger / parseInline result when the line is not complete yet (no 15-digit value equals it) */
const INCOMPLETE = Number.MIN_SAFE_INTEGER;

export class RespParser {
  private readonly limits: RespParserLimits;
  /** unconsumed bytes from earlier chunks (an incomplete header or inline line) */
  private pending: Buffer = EMPTY;
  private state: State = State.Start;
  private args: Buffer[] = [];
  private argsExpected = 0;
  private commandBytes = 0;
  /** destination of a split bulk string, sized declared length + 2 for its CRLF */
  private bulk: Buffer = EMPTY;
  private bulkFilled = 0;
  /** parseInteger's second result: offset just past the line's LF */
  private lineEnd = 0;
  private poisoned: RespProtocolError | null = null;

  constructor(limits: Partial<RespParserLimits> = {}) {
    this.limits = { ...DEFAULT_PARSER_LIMITS, ...limits };
  }

  /** true while part of a command has been received but not all of it */
  get inCommand(): boolean {
    return this.state !== State.Start || this.pending.length > 0;
  }

  /**
   * Consumes a chunk; calls onCommand for every command completed by it, in order. Throws
   * RespProtocolError (after delivering the commands before the bad bytes) on malformed input.
   */
  feed(chunk: Uint8Array, onCommand: (args: Buffer[]) => void): void {
    if (this.poisoned) throw this.poisoned;
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.state === State.BulkFill) {
      const used = this.fillBulk(buf, 0);
      if (this.state === State.BulkFill) return;
      buf = buf.subarray(used);
      if (this.argsExpected === 0) this.emit(onCommand);
    }
    if (this.pending.length > 0) {
      buf = Buffer.concat([this.pending, buf]);
      this.pending = EMPTY;
    }
    try {
      this.parse(buf, onCommand);
    } catch (e) {
      if (e instanceof RespProtocolError) this.poisoned = e;
      throw e;
    }
  }

  private parse(buf: Buffer, onCommand: (args: Buffer[]) => void): void {
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      if (this.state === State.Start) {
        if (buf[pos] !== STAR) {
          const next = this.parseInline(buf, pos, onCommand);
          if (next === INCOMPLETE) break;
          pos = next;
          continue;
        }
        const count = this.parseInteger(buf, pos + 1, 'invalid multibulk length', 'too big mbulk count string');
        if (count === INCOMPLETE) break;
        pos = this.lineEnd;
        if (count > this.limits.maxArrayLength) throw new RespProtocolError('invalid multibulk length');
        // Redis ignores empty and null arrays
        if (count <= 0) continue;
        this.argsExpected = count;
        this.args = [];
        this.commandBytes = 0;
        this.state = State.BulkHeader;
        continue;
      }
      // State.BulkHeader (BulkFill is finished in feed before parse runs)
      if (buf[pos] !== DOLLAR) {
        throw new RespProtocolError(`expected '$', got '${printable(buf[pos])}'`);
      }
      const size = this.parseInteger(buf, pos + 1, 'invalid bulk length', 'too big bulk count string');
      if (size === INCOMPLETE) break;
      if (size < 0 || size > this.limits.maxBulkBytes) throw new RespProtocolError('invalid bulk length');
      this.commandBytes += size + ARG_OVERHEAD_BYTES;
      if (this.commandBytes > this.limits.maxCommandBytes) {
        throw new RespProtocolError(`command larger than ${this.limits.maxCommandBytes} bytes`);
      }
      const bodyStart = this.lineEnd;
      const bodyEnd = bodyStart + size;
      if (bodyEnd + 2 <= len) {
        if (buf[bodyEnd] !== CR || buf[bodyEnd + 1] !== LF) throw new RespProtocolError('bulk string not followed by CRLF');
        this.args.push(buf.subarray(bodyStart, bodyEnd));
        pos = bodyEnd + 2;
        if (--this.argsExpected === 0) this.emit(onCommand);
        continue;
      }
      // the body runs past this chunk: copy what is here and wait for the rest
      this.bulk = Buffer.allocUnsafe(size + 2);
      this.bulkFilled = 0;
      this.state = State.BulkFill;
      this.fillBulk(buf, bodyStart);
      return;
    }
    if (pos < len) {
      const rest = buf.subarray(pos);
      const limit = this.state === State.Start && buf[pos] !== STAR ? this.limits.maxInlineBytes : MAX_HEADER_LINE_BYTES;
      if (rest.length > limit) {
        throw new RespProtocolError(buf[pos] === STAR || this.state !== State.Start ? 'too big mbulk count string' : 'too big inline request');
      }
      // copy: the caller may reuse its chunk, and a small copy lets the big chunk be collected
      this.pending = Buffer.from(rest);
    }
  }

  /** copies from buf[from..] into the split bulk string; returns bytes consumed */
  private fillBulk(buf: Buffer, from: number): number {
    const want = this.bulk.length - this.bulkFilled;
    const take = Math.min(want, buf.length - from);
    buf.copy(this.bulk, this.bulkFilled, from, from + take);
    this.bulkFilled += take;
    if (this.bulkFilled < this.bulk.length) return take;
    const size = this.bulk.length - 2;
    if (this.bulk[size] !== CR || this.bulk[size + 1] !== LF) {
      this.poisoned = new RespProtocolError('bulk string not followed by CRLF');
      throw this.poisoned;
    }
    this.args.push(this.bulk.subarray(0, size));
    this.bulk = EMPTY;
    this.argsExpected--;
    this.state = State.BulkHeader;
    return take;
  }

  private emit(onCommand: (args: Buffer[]) => void): void {
    const args = this.args;
    this.args = [];
    this.state = State.Start;
    onCommand(args);
  }

  /**
   * Parses `[-]digits\r\n` starting at `from`. Returns INCOMPLETE when the line has not fully
   * arrived, else the value (with this.lineEnd set past the LF). Like Redis's string2ll: no '+',
   * no leading zeros beyond a single 0, no spaces.
   */
  private parseInteger(buf: Buffer, from: number, invalid: string, tooBig: string): number {
    const len = buf.length;
    let p = from;
    if (p >= len) return INCOMPLETE;
    let negative = false;
    if (buf[p] === MINUS) {
      negative = true;
      p++;
    }
    let value = 0;
    let digits = 0;
    while (p < len) {
      const c = buf[p];
      if (c >= ZERO && c <= NINE) {
        value = value * 10 + (c - ZERO);
        if (++digits > 15) throw new RespProtocolError(invalid);
        p++;
        continue;
      }
      if (c !== CR) throw new RespProtocolError(invalid);
      if (p + 1 >= len) return INCOMPLETE;
      if (buf[p + 1] !== LF || digits === 0) throw new RespProtocolError(invalid);
      if (digits > 1 && buf[from + (negative ? 1 : 0)] === ZERO) throw new RespProtocolError(invalid);
      this.lineEnd = p + 2;
      return negative ? -value : value;
    }
    if (p - from > MAX_HEADER_LINE_BYTES) throw new RespProtocolError(tooBig);
    return INCOMPLETE;
  }

  /** an inline command: one line (LF-terminated, optional CR) of space-separated, optionally quoted words */
  private parseInline(buf: Buffer, pos: number, onCommand: (args: Buffer[]) => void): number {
    const nl = buf.indexOf(LF, pos);
    if (nl === -1) {
      if (buf.length - pos > this.limits.maxInlineBytes) throw new RespProtocolError('too big inline request');
      return INCOMPLETE;
    }
    if (nl - pos > this.limits.maxInlineBytes) throw new RespProtocolError('too big inline request');
    const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    const args = splitInlineArgs(buf.subarray(pos, end));
    if (args === null) throw new RespProtocolError('unbalanced quotes in request');
    if (args.length > this.limits.maxArrayLength) throw new RespProtocolError('invalid multibulk length');
    // an empty line is ignored, as Redis does (telnet users press enter)
    if (args.length > 0) onCommand(args);
    return nl + 1;
  }
}

function printable(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Splits an inline line the way Redis's sdssplitargs does: words separated by whitespace; "double
 * quotes" with \n \r \t \b \a \\ \" and \xHH escapes; 'single quotes' with only \' escaped; a closing
 * quote must be followed by whitespace or the end. Returns null on unbalanced quotes.
 */
export function splitInlineArgs(line: Uint8Array): Buffer[] | null {
  const args: Buffer[] = [];
  const n = line.length;
  let p = 0;
  while (true) {
    while (p < n && isSpace(line[p])) p++;
    if (p >= n) return args;
    const out: number[] = [];
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      if (inDouble) {
        if (p >= n) return null;
        const c = line[p];
        if (c === 0x5c && p + 3 < n && line[p + 1] === 0x78 && hexValue(line[p + 2]) >= 0 && hexValue(line[p + 3]) >= 0) {
          out.push(hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]));
          p += 3;
        } else if (c === 0x5c && p + 1 < n) {
          p++;
          const e = line[p];
          out.push(e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e);
        } else if (c === 0x22) {
          if (p + 1 < n && !isSpace(line[p + 1])) return null;
          done = true;
        } else {
          out.push(c);
        }
      } else if (inSingle) {
        if (p >= n) return null;
        const c = line[p];
        if (c === 0x5c && p + 1 < n && line[p + 1] === 0x27) {
          p++;
          out.push(0x27);
        } else if (c === 0x27) {
          if (p + 1 < n && !isSpace(line[p + 1])) return null;
          done = true;
        } else {
          out.push(c);
        }
      } else {
        if (p >= n) {
          done = true;
          break;
        }
        const c = line[p];
        if (isSpace(c)) {
          done = true;
        } else if (c === 0x22) {
          inDouble = true;
        } else if (c === 0x27) {
          inSingle = true;
        } else {
          out.push(c);
        }
      }
      if (p < n) p++;
    }
    args.push(Buffer.from(out));
  }
}
