import type { FS } from '../fs/fs.js';
import { RecordDecoder } from './record-format.js';
import type { TailState } from './record-format.js';

const READ_CHUNK_BYTES = 1024 * 1024;

export interface CorruptRegion {
  start: number;
  end: number;
  reason: string;
}

export interface SegmentReplayResult {
  sizeBytes: number;
  records: number;
  tail: TailState;
  /** Bytes of the file up to the start of a torn or corrupt tail (the file size when clean). */
  validLengthBytes: number;
  tailReason?: string;
  /** Corrupt regions followed by valid records (only when the sink did not throw on them). */
  skipped: CorruptRegion[];
}

/**
 * Streams one segment through the incremental decoder. `onCorruption` is called for a corrupt region
 * that is followed by a valid record; throwing from it stops the replay.
 */
export async function replaySegment(
  fs: FS,
  path: string,
  onRecord: (payload: Uint8Array, offset: number) => void,
  onCorruption: (region: CorruptRegion) => void,
): Promise<SegmentReplayResult> {
  const skipped: CorruptRegion[] = [];
  let records = 0;
  const decoder = new RecordDecoder({
    record(payload, offset) {
      records++;
      onRecord(payload, offset);
    },
    corruption(start, end, reason) {
      const region = { start, end, reason };
      onCorruption(region);
      skipped.push(region);
    },
  });
  const handle = await fs.openRead(path);
  let position = 0;
  try {
    for (;;) {
      const chunk = await handle.read(position, Math.max(READ_CHUNK_BYTES, decoder.bytesWanted()));
      if (chunk.length === 0) break;
      position += chunk.length;
      decoder.push(chunk);
    }
  } finally {
    await handle.close();
  }
  const end = decoder.end();
  return { sizeBytes: position, records, tail: end.tail, validLengthBytes: end.validLengthBytes, tailReason: end.reason, skipped };
}
