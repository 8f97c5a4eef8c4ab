/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4, LevelDB and
 * RocksDB. Table-driven, slicing-by-8: eight bytes per step through eight 256-entry tables.
 *
 * `initial` is a previous result, so checksums chain: crc32c(b, crc32c(a)) === crc32c(a ++ b).
 * Returns an unsigned 32-bit integer. crc32c(ascii "123456789") === 0xE3069283.
 */
const POLY_REFLECTED = 0x82f63b78;

// TABLES[k * 256 + n]: CRC contribution of byte n followed by k zero bytes.
const TABLES = buildTables();
const T0 = TABLES.subarray(0, 256);
const T1 = TABLES.subarray(256, 512);
const T2 = TABLES.subarray(512, 768);
const T3 = TABLES.subarray(768, 1024);
const T4 = TABLES.subarray(1024, 1280);
const T5 = TABLES.subarray(1280, 1536);
const T6 = TABLES.subarray(1536, 1792);
const T7 = TABLES.subarray(1792, 2048);

function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    tables[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = tables[(k - 1) * 256 + n];
      tables[k * 256 + n] = ((prev >>> 8) ^ tables[prev & 0xff]) >>> 0;
    }
  }
  return tables;
}

/** Word loads read bytes in little-endian order only on a little-endian machine. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** Below this a word view costs more than it saves. */
const WORD_PATH_MIN_BYTES = 256;

export function crc32c(data: Uint8Array, initial = 0): number {
  let crc = (initial ^ 0xffffffff) | 0;
  let i = 0;
  const end = data.length;
  if (LITTLE_ENDIAN && end >= WORD_PATH_MIN_BYTES) {
    // bytes one at a time up to a 4-byte boundary of the underlying buffer (a block inside a larger
    // output buffer starts anywhere), so the word view below is aligned
    const lead = -data.byteOffset & 3;
    for (; i < lead; i++) crc = T0[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  }
  const end8 = i + ((end - i) & ~7);
  if (LITTLE_ENDIAN && end8 - i >= WORD_PATH_MIN_BYTES) {
    // the same steps, two 32-bit loads instead of eight byte loads per 8 bytes (an aligned view)
    const words = new Int32Array(data.buffer, data.byteOffset + i, (end8 - i) >>> 2);
    for (let w = 0; w < words.length; w += 2) {
      const lo = crc ^ words[w];
      const hi = words[w + 1];
      crc =
        T7[lo & 0xff] ^
        T6[(lo >>> 8) & 0xff] ^
        T5[(lo >>> 16) & 0xff] ^
        T4[lo >>> 24] ^
        T3[hi & 0xff] ^
        T2[(hi >>> 8) & 0xff] ^
        T1[(hi >>> 16) & 0xff] ^
        T0[hi >>> 24];
    }
    i = end8;
  }
  while (i < end8) {
    const lo = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[data[i + 4]] ^
      T2[data[i + 5]] ^
      T1[data[i + 6]] ^
      T0[data[i + 7]];
    i += 8;
  }
  while (i < end) {
    crc = T0[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    i++;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/**
 * LevelDB's CRC masking: a stored checksum is rotated and offset so that checksumming data that itself
 * contains checksums (a log inside a log, a record holding an SSTable block) stays strong, and so
 * that an all-zero region never carries a valid checksum of zero bytes.
 */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
