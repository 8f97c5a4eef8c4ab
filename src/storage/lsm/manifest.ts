import { posix } from 'node:path';
import type { FS } from '../fs/fs.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { crc32c } from '../crc32c.js';

/**
 * The manifest names the live SSTables (newest first) and how far the commit log has been flushed.
 * It is replaced atomically: write MANIFEST.tmp, fsync, rename over MANIFEST, fsync the directory.
 * A crash at any point leaves either the old or the new manifest, so the set of live tables is always
 * one that existed; files it does not name are orphans of an unfinished flush or compaction.
 */
export const MANIFEST_FILE = 'MANIFEST';
const MANIFEST_TMP = 'MANIFEST.tmp';
const MANIFEST_VERSION = 1;

export interface ManifestState {
  /** next number for a new table file */
  nextFileNumber: number;
  /** every commit-log segment with id <= this is fully contained in the listed tables */
  flushedSegmentId: number;
  /** table file names, newest first */
  tables: string[];
}

export class ManifestCorruptError extends Error {
  constructor(detail: string) {
    super(`manifest unreadable: ${detail}`);
    this.name = 'ManifestCorruptError';
  }
}

export async function readManifest(fs: FS, dir: string): Promise<ManifestState | undefined> {
  const path = posix.join(dir, MANIFEST_FILE);
  if (!(await fs.exists(path))) return undefined;
  const text = Buffer.from(await fs.readFile(path)).toString('utf8');
  const newline = text.lastIndexOf('\n', text.length - 2);
  if (newline < 0) throw new ManifestCorruptError('no checksum line');
  const body = text.slice(0, newline);
  const crcLine = text.slice(newline + 1).trim();
  if (crcLine !== `crc32c ${crc32c(Buffer.from(body, 'utf8')).toString(16)}`) throw new ManifestCorruptError('checksum mismatch');
  const parsed = JSON.parse(body) as { version: number } & ManifestState;
  if (parsed.version !== MANIFEST_VERSION) throw new ManifestCorruptError(`unsupported version ${parsed.version}`);
  return { nextFileNumber: parsed.nextFileNumber, flushedSegmentId: parsed.flushedSegmentId, tables: parsed.tables };
}

export async function writeManifest(fs: FS, dir: string, state: ManifestState): Promise<void> {
  const body = JSON.stringify({ version: MANIFEST_VERSION, ...state });
  const text = `${body}\ncrc32c ${crc32c(Buffer.from(body, 'utf8')).toString(16)}\n`;
  await writeFileAtomic(fs, dir, MANIFEST_FILE, Buffer.from(text, 'utf8'));
}

export function isManifestTemp(name: string): boolean {
  return name === MANIFEST_TMP;
}
