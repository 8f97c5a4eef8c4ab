import { RingkvError } from '../../core/errors.js';

/**
 * Corruption in the commit log that is not a torn tail: a bad record followed by valid ones, or a
 * complete record with a wrong checksum at the end of a segment that is not the last. Start-up stops
 * rather than silently dropping writes that were acknowledged; the operator may choose to skip.
 */
export class CommitLogCorruptError extends RingkvError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super(
      'STORAGE_CORRUPT',
      `commit log corrupt: ${file} at byte offset ${offset} (${reason}). ` +
        'Start with --skip-corrupt-commitlog (or RINGKV_SKIP_CORRUPT_COMMITLOG=true) to skip corrupt records; the writes they held are lost.',
      { file, offset, reason },
    );
    this.name = 'CommitLogCorruptError';
    this.file = file;
    this.offset = offset;
  }
}
