/**
 * Internode framing: every frame is `[u32 big-endian payload length][msgpack payload]`.
 *
 * Since protocol 3 a connection's payloads are batches: one msgpack array of the envelopes queued for
 * that peer in one event-loop turn, so a turn's messages cost one frame, one socket write and, on the
 * other side, one decode (batchFrame). Each envelope is packed when it is queued (encodeEnvelope:
 * its size is known at once, and a message too large fails its own request there); the flush writes
 * the array header and the packed envelopes behind the frame header.
 *
 * The decoder is incremental and keeps an offset into the chunk the
 * socket handed over; a frame that spans chunks is assembled once, when it completes.
 *
 * Decoded `bin` values are views into a buffer private to their frame, never into the socket chunk:
 * a stored 100-byte value must not pin a 64 KiB read buffer. So each frame is copied once into
 * Buffer.allocUnsafe memory (pooled for small frames, exact-size for large ones) and decoded from
 * there. That costs about as much as decoding in place and far less than msgpackr's copyBuffers,
 * which allocates a new ArrayBuffer per value.
 */
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { RingkvError } from '../core/errors.js';

export const FRAME_HEADER_BYTES = 4;

/** Largest frame payload accepted: a 16 MiB message plus room for the envelope and metadata. */
export const DEFAULT_MAX_FRAME_BYTES = 17 * 1024 * 1024;

/**
 * Plain msgpack: no records or msgpackr-specific types, so what goes out is what comes in (objects,
 * arrays, strings, numbers, bigint within 64 bits, null/undefined, Uint8Array/Buffer as `bin`; a
 * decoded `bin` is a Buffer).
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Bytes a batch frame adds around its envelopes: the frame header and a msgpack array32 header. */
export const BATCH_OVERHEAD_BYTES = FRAME_HEADER_BYTES + 5;

/**
 * Packs one value (an envelope) for a batch frame; throws VALUE_TOO_LARGE when a frame carrying it
 * alone would exceed maxFrameBytes. The result is a view into msgpackr's buffer: later packs never
 * write over it.
 */
export function encodeEnvelope(value: unknown, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const packed = packr.pack(value) as Buffer;
  const payloadBytes = packed.length + BATCH_OVERHEAD_BYTES - FRAME_HEADER_BYTES;
  if (payloadBytes > maxFrameBytes) {
    throw new RingkvError('VALUE_TOO_LARGE', `internode message of ${payloadBytes} bytes exceeds maxFrameBytes (${maxFrameBytes})`, {
      sizeBytes: payloadBytes,
      maxFrameBytes,
    });
  }
  return packed;
}

/** One frame whose payload is the msgpack array of the packed envelopes `parts` (`bytes` long in all). */
export function batchFrame(parts: readonly Buffer[], bytes: number): Buffer {
  const frame = Buffer.allocUnsafe(BATCH_OVERHEAD_BYTES + bytes);
  frame.writeUInt32BE(bytes + BATCH_OVERHEAD_BYTES - FRAME_HEADER_BYTES, 0);
  frame[FRAME_HEADER_BYTES] = 0xdd; // array32
  frame.writeUInt32BE(parts.length, FRAME_HEADER_BYTES + 1);
  let at = BATCH_OVERHEAD_BYTES;
  for (const p of parts) {
    p.copy(frame, at);
    at += p.length;
  }
  return frame;
}

/** A batch frame carrying one envelope (a handshake, outside a connection's queue). */
export function singleEnvelopeFrame(envelope: unknown, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const packed = encodeEnvelope(envelope, maxFrameBytes);
  return batchFrame([packed], packed.length);
}

/**
 * The envelopes a decoded frame payload carries: a protocol-3 frame is an array of envelopes (each an
 * array); a frame of protocol 2 or older is one envelope, given back alone so that such a peer's
 * hello can be refused naming both protocol versions.
 */
export function envelopesOf(payload: unknown): unknown[] {
  return Array.isArray(payload) && payload.length > 0 && Array.isArray(payload[0]) ? payload : [payload];
}

/** Packs value into one frame (header + payload) ready for the socket. */
export function encodeFrame(value: unknown, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  const frame = packr.pack(value, RESERVE_START_SPACE | FRAME_HEADER_BYTES) as Buffer;
  const payloadBytes = frame.length - FRAME_HEADER_BYTES;
  if (payloadBytes > maxFrameBytes) {
    throw new RingkvError('VALUE_TOO_LARGE', `internode message of ${payloadBytes} bytes exceeds maxFrameBytes (${maxFrameBytes})`, {
      sizeBytes: payloadBytes,
      maxFrameBytes,
    });
  }
  frame.writeUInt32BE(payloadBytes, 0);
  return frame;
}

/** msgpack round trip with no framing: gives a loopback message the same shape a peer would see. */
export function cloneViaMsgpack<T>(value: T): T {
  return packr.unpack(Buffer.from(packr.pack(value) as Buffer)) as T;
}

function malformed(message: string, details?: Record<string, unknown>): RingkvError {
  return new RingkvError('MALFORMED_FRAME', message, details);
}

/** bytes [start, end) in memory of their own (see the file comment for why) */
function privateCopy(bytes: Uint8Array, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafe(end - start);
  if (Buffer.isBuffer(bytes)) bytes.copy(copy, 0, start, end);
  else copy.set(bytes.subarray(start, end));
  return copy;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return bytes[offset] * 0x1000000 + ((bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]);
}

export interface FrameDecoderOptions {
  /** largest accepted payload; a larger declared length is an error @default DEFAULT_MAX_FRAME_BYTES */
  maxFrameBytes?: number;
}

/**
 * Incremental frame decoder. `push(chunk)` returns the values of every frame completed by the chunk,
 * in order. A declared length over maxFrameBytes, an empty frame or an undecodable payload throws
 * RingkvError MALFORMED_FRAME; after that the stream is unusable and every push throws again (the
 * caller closes the connection: there is no way to resynchronise a length-prefixed stream).
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  /** bytes of an incomplete frame, as views into the chunks they arrived in */
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  /** header + payload size of the incomplete frame once its header is known, else -1 */
  private spanningFrameBytes = -1;
  private failure: RingkvError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** bytes held for a frame not yet complete */
  get bufferedBytes(): number {
    return this.partsBytes;
  }

  push(chunk: Uint8Array): unknown[] {
    if (this.failure) throw this.failure;
    try {
      return this.decodeChunk(chunk);
    } catch (e) {
      this.failure = e instanceof RingkvError ? e : malformed(String(e));
      this.parts = [];
      this.partsBytes = 0;
      throw this.failure;
    }
  }

  private decodeChunk(chunk: Uint8Array): unknown[] {
    const values: unknown[] = [];
    let offset = 0;
    if (this.partsBytes > 0) {
      offset = this.completeSpanningFrame(chunk, values);
      if (offset < 0) return values; // the chunk was swallowed by a frame still incomplete
    }
    const end = chunk.length;
    while (end - offset >= FRAME_HEADER_BYTES) {
      const payloadBytes = this.checkedLength(readU32(chunk, offset));
      const frameEnd = offset + FRAME_HEADER_BYTES + payloadBytes;
      if (frameEnd > end) break;
      values.push(this.decodePayload(privateCopy(chunk, offset + FRAME_HEADER_BYTES, frameEnd), 0, payloadBytes));
      offset = frameEnd;
    }
    if (offset < end) {
      const rest = offset === 0 ? chunk : chunk.subarray(offset);
      this.parts.push(rest);
      this.partsBytes = rest.length;
      this.spanningFrameBytes = rest.length >= FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES + this.checkedLength(readU32(rest, 0)) : -1;
    }
    return values;
  }

  /**
   * Feeds chunk to the frame that started in earlier chunks. Returns the offset in chunk where the
   * next frame starts, or -1 when the whole chunk belongs to a frame still incomplete.
   */
  private completeSpanningFrame(chunk: Uint8Array, values: unknown[]): number {
    if (this.spanningFrameBytes < 0) {
      if (this.partsBytes + chunk.length < FRAME_HEADER_BYTES) {
        this.parts.push(chunk);
        this.partsBytes += chunk.length;
        return -1;
      }
      this.spanningFrameBytes = FRAME_HEADER_BYTES + this.checkedLength(this.readSpanningHeader(chunk));
    }
    const missing = this.spanningFrameBytes - this.partsBytes;
    if (chunk.length < missing) {
      this.parts.push(chunk);
      this.partsBytes += chunk.length;
      return -1;
    }
    this.parts.push(missing === chunk.length ? chunk : chunk.subarray(0, missing));
    const frame = Buffer.concat(this.parts, this.spanningFrameBytes); // already private to this frame
    this.parts = [];
    this.partsBytes = 0;
    this.spanningFrameBytes = -1;
    values.push(this.decodePayload(frame, FRAME_HEADER_BYTES, frame.length));
    return missing;
  }

  /** the 4 header bytes, which may be cut across the held parts and the new chunk */
  private readSpanningHeader(chunk: Uint8Array): number {
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    let filled = 0;
    for (const part of this.parts) {
      for (let i = 0; i < part.length && filled < FRAME_HEADER_BYTES; i++) header[filled++] = part[i];
    }
    for (let i = 0; filled < FRAME_HEADER_BYTES; i++) header[filled++] = chunk[i];
    return readU32(header, 0);
  }

  private checkedLength(payloadBytes: number): number {
    if (payloadBytes > this.maxFrameBytes) {
      throw malformed(`frame declares ${payloadBytes} bytes, over maxFrameBytes (${this.maxFrameBytes})`, {
        sizeBytes: payloadBytes,
        maxFrameBytes: this.maxFrameBytes,
      });
    }
    if (payloadBytes === 0) throw malformed('empty frame (declared length 0)');
    return payloadBytes;
  }

  private decodePayload(bytes: Uint8Array, start: number, end: number): unknown {
    try {
      return packr.unpack(bytes, { start, end });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw malformed(`undecodable msgpack payload of ${end - start} bytes: ${why.slice(0, 200)}`);
    }
  }
}
