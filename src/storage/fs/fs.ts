/**
 * The file-system seam of the storage layer. Everything under src/storage does its I/O through this
 * interface so the same engine runs on the real disk (NodeFS) and on a simulated disk that can crash,
 * tear writes, fail operations and flip bits (SimFS).
 *
 * Durability contract (what NodeFS gets from POSIX and SimFS models):
 * - bytes appended to a file survive a crash only once `sync()` on a handle of that file succeeded;
 * - a created, renamed or unlinked directory entry survives a crash only once `syncDir(dir)` succeeded;
 * - every error is an `Error` with a node-style `.code` ('EIO', 'ENOSPC', 'ENOENT', 'EBADF', …).
 */
export interface FileHandle {
  readonly path: string;
  /** Writes all of `data` at the end of the file. */
  append(data: Uint8Array): Promise<void>;
  /** Reads up to `length` bytes at `position`; returns fewer bytes at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  size(): Promise<number>;
  /** fsync. An error is never swallowed: the caller must treat unsynced bytes as possibly lost. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A handle that can also append synchronously on the calling thread (a plain write(2)); optional.
 * Returns the bytes written before an error, which it throws with `.bytesWritten` set.
 */
export interface SyncAppendableHandle extends FileHandle {
  appendSync(data: Uint8Array): void;
}

export function canAppendSync(handle: FileHandle): handle is SyncAppendableHandle {
  return typeof (handle as Partial<SyncAppendableHandle>).appendSync === 'function';
}

export interface FS {
  /** Opens for appending (and reading); creates the file if missing. */
  openAppend(path: string): Promise<FileHandle>;
  /** Opens an existing file for reading; ENOENT if missing. */
  openRead(path: string): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  /** Atomically replaces `to` with `from`. Durable once syncDir of both directories succeeded. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Entry names (not paths) in `dir`, sorted; [] if `dir` is missing. */
  list(dir: string): Promise<string[]>;
  mkdirp(dir: string): Promise<void>;
  /** fsync of a directory: makes its created / renamed / unlinked entries durable. */
  syncDir(dir: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /**
   * Shortens a file to `lengthBytes` (used to cut a torn commit-log tail). Durable once a `sync()` of
   * the file succeeded (SimFS models the shortening as immediately durable).
   */
  truncate(path: string, lengthBytes: number): Promise<void>;
}

export type FsErrorCode = 'EIO' | 'ENOSPC' | 'ENOENT' | 'EBADF' | 'EEXIST' | 'EISDIR' | 'ENOTDIR';

/** An error shaped like node's fs errors: `.code`, `.syscall`, `.path`. */
export interface FsError extends Error {
  code: string;
  syscall?: string;
  path?: string;
}

export function makeFsError(code: FsErrorCode, syscall: string, path: string, detail?: string): FsError {
  const err = new Error(`${code}: ${detail ?? describeCode(code)}, ${syscall} '${path}'`) as FsError;
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

export function isFsError(err: unknown, code?: string): err is FsError {
  if (!(err instanceof Error)) return false;
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' && (code === undefined || c === code);
}

function describeCode(code: FsErrorCode): string {
  switch (code) {
    case 'EIO': return 'i/o error';
    case 'ENOSPC': return 'no space left on device';
    case 'ENOENT': return 'no such file or directory';
    case 'EBADF': return 'bad file descriptor';
    case 'EEXIST': return 'file already exists';
    case 'EISDIR': return 'illegal operation on a directory';
    case 'ENOTDIR': return 'not a directory';
  }
}
