import { posix } from 'node:path';
import { makeFsError } from './fs.js';
import type { FileHandle, FS, SyncAppendableHandle } from './fs.js';

/**
 * An in-memory disk with the failure modes the storage layer must survive, for deterministic tests
 * and the simulator.
 *
 * Model:
 * - A file (inode) holds its written bytes and a durable prefix length: `sync()` makes every written
 *   byte durable. Files only grow by appends, so "durable" is always a prefix.
 * - A directory holds its current entries and its durable entries: creating, renaming or unlinking
 *   a name changes only the current entries until `syncDir(dir)` copies them to the durable ones.
 *   Directories themselves (mkdirp) are durable at once.
 * - `crash()` reboots the disk: directories fall back to their durable entries, files to their durable
 *   prefix (or, with tearLastWrite, a random prefix of the unsynced bytes is kept: a torn write), and
 *   every open handle becomes invalid (EBADF).
 * - `truncate` that shortens a file shortens its durable prefix too (modelled as immediately durable).
 * - Faults: `failNext` (EIO / ENOSPC on the next matching operations), `setFull` (appends fail with
 *   ENOSPC), `flipBit` (silent corruption of stored bytes), and `onOp`, a hook called at the start of
 *   every operation that may throw (the operation then fails with that error) or call `crash()`.
 * Every operation yields once to the event loop's microtask queue, so concurrent callers interleave.
 * With `syncAppends`, writable handles also offer appendSync (as PreadNodeFS's do): the same hook,
 * faults and effect, without the yield.
 */
export type SimFsOp =
  | 'append' | 'sync' | 'read' | 'size' | 'close'
  | 'openAppend' | 'openRead' | 'readFile' | 'rename' | 'unlink' | 'list' | 'mkdirp' | 'syncDir'
  | 'exists' | 'truncate';

/** Operations failNext can target; 'read' covers handle reads and readFile; 'any' matches all of them. */
export type SimFsFaultOp =
  | 'append' | 'sync' | 'read' | 'rename' | 'openAppend' | 'openRead' | 'unlink' | 'syncDir' | 'truncate'
  | 'list' | 'mkdirp' | 'any';

export type SimFsFaultCode = 'EIO' | 'ENOSPC';

export interface SimCrashOptions {
  /** Keep a random prefix of each file's unsynced bytes instead of dropping them all. */
  tearLastWrite?: boolean;
  /** Source of randomness for tearing, in [0, 1). Default Math.random. */
  random?: () => number;
}

export interface SimFsCounters {
  appends: number;
  appendedBytes: number;
  syncs: number;
  dirSyncs: number;
  reads: number;
  renames: number;
  unlinks: number;
  crashes: number;
  faultsInjected: number;
}

const FAULTABLE: Partial<Record<SimFsOp, SimFsFaultOp>> = {
  append: 'append', sync: 'sync', read: 'read', readFile: 'read', rename: 'rename',
  openAppend: 'openAppend', openRead: 'openRead', unlink: 'unlink', syncDir: 'syncDir',
  truncate: 'truncate', list: 'list', mkdirp: 'mkdirp',
};

class Inode {
  bytes = new Uint8Array(0);
  length = 0;
  durableLength = 0;

  append(data: Uint8Array): void {
    const needed = this.length + data.length;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2, 64));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(data, this.length);
    this.length = needed;
  }

  resize(lengthBytes: number): void {
    if (lengthBytes > this.length) {
      this.append(new Uint8Array(lengthBytes - this.length));
    } else {
      this.bytes.fill(0, lengthBytes, this.length);
      this.length = lengthBytes;
    }
    this.durableLength = Math.min(this.durableLength, this.length);
  }
}

class Dir {
  entries = new Map<string, Inode>();
  durable = new Map<string, Inode>();
}

interface FaultRule {
  op: SimFsFaultOp;
  code: SimFsFaultCode;
  remaining: number;
}

export interface SimFsOptions {
  /** writable handles offer appendSync @default false */
  syncAppends?: boolean;
}

export class SimFS implements FS {
  /** Called at the start of every operation; throwing fails the operation with that error. */
  onOp: ((op: SimFsOp, path: string) => void) | undefined;
  readonly counters: SimFsCounters = {
    appends: 0, appendedBytes: 0, syncs: 0, dirSyncs: 0, reads: 0, renames: 0, unlinks: 0, crashes: 0,
    faultsInjected: 0,
  };
  /** Bumped by every crash; handles opened in an earlier generation are invalid. */
  generation = 0;

  private readonly dirs = new Map<string, Dir>([['/', new Dir()]]);
  private faults: FaultRule[] = [];
  private full = false;

  constructor(private readonly options: SimFsOptions = {}) {}

  crash(opts: SimCrashOptions = {}): void {
    const random = opts.random ?? Math.random;
    this.generation++;
    this.counters.crashes++;
    const survivors = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      dir.entries = new Map(dir.durable);
      for (const inode of dir.durable.values()) survivors.add(inode);
    }
    for (const inode of survivors) {
      let keep = inode.durableLength;
      const unsynced = inode.length - inode.durableLength;
      if (opts.tearLastWrite && unsynced > 0) keep += Math.floor(random() * (unsynced + 1));
      inode.resize(keep);
      inode.durableLength = keep;
    }
  }

  /** The next `count` operations matching `op` fail with `code` (rules are consumed in order). */
  failNext(op: SimFsFaultOp, code: SimFsFaultCode, count = 1): void {
    this.faults.push({ op, code, remaining: count });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** While full, every append fails with ENOSPC. */
  setFull(full: boolean): void {
    this.full = full;
  }

  /** Flips one bit of the stored bytes (durable or not) of the file currently at `path`. */
  flipBit(path: string, byteOffset: number, bit: number): void {
    const inode = this.lookup(norm(path));
    if (!inode) throw makeFsError('ENOENT', 'flipBit', path);
    if (byteOffset < 0 || byteOffset >= inode.length || bit < 0 || bit > 7) {
      throw new RangeError(`flipBit: offset ${byteOffset} bit ${bit} outside ${path} (${inode.length} bytes)`);
    }
    inode.bytes[byteOffset] ^= 1 << bit;
  }

  /** Written and durable sizes of the file at `path`, and whether its directory entry is durable. */
  inspect(path: string): { length: number; durableLength: number; entryDurable: boolean } | undefined {
    const p = norm(path);
    const inode = this.lookup(p);
    if (!inode) return undefined;
    const dir = this.dirs.get(posix.dirname(p));
    return { length: inode.length, durableLength: inode.durableLength, entryDurable: dir?.durable.get(posix.basename(p)) === inode };
  }

  // ---- FS ----

  async openAppend(path: string): Promise<FileHandle> {
    const p = norm(path);
    await this.enter('openAppend', p);
    const dir = this.parentDir(p, 'open');
    let inode = dir.entries.get(posix.basename(p));
    if (!inode) {
      if (this.dirs.has(p)) throw makeFsError('EISDIR', 'open', p);
      inode = new Inode();
      dir.entries.set(posix.basename(p), inode);
    }
    return this.options.syncAppends ? new SyncAppendSimHandle(this, p, inode, true) : new SimFileHandle(this, p, inode, true);
  }

  async openRead(path: string): Promise<FileHandle> {
    const p = norm(path);
    await this.enter('openRead', p);
    const inode = this.lookup(p);
    if (!inode) throw makeFsError('ENOENT', 'open', p);
    return new SimFileHandle(this, p, inode, false);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const p = norm(path);
    await this.enter('readFile', p);
    const inode = this.lookup(p);
    if (!inode) throw makeFsError('ENOENT', 'open', p);
    this.counters.reads++;
    return inode.bytes.slice(0, inode.length);
  }

  async rename(from: string, to: string): Promise<void> {
    const f = norm(from);
    const t = norm(to);
    await this.enter('rename', f);
    const fromDir = this.parentDir(f, 'rename');
    const inode = fromDir.entries.get(posix.basename(f));
    if (!inode) throw makeFsError('ENOENT', 'rename', f);
    const toDir = this.parentDir(t, 'rename');
    fromDir.entries.delete(posix.basename(f));
    toDir.entries.set(posix.basename(t), inode);
    this.counters.renames++;
  }

  async unlink(path: string): Promise<void> {
    const p = norm(path);
    await this.enter('unlink', p);
    const dir = this.parentDir(p, 'unlink');
    if (!dir.entries.delete(posix.basename(p))) throw makeFsError('ENOENT', 'unlink', p);
    this.counters.unlinks++;
  }

  async list(dir: string): Promise<string[]> {
    const d = norm(dir);
    await this.enter('list', d);
    const entry = this.dirs.get(d);
    if (!entry) return [];
    const names = [...entry.entries.keys()];
    const prefix = d === '/' ? '/' : d + '/';
    for (const sub of this.dirs.keys()) {
      if (sub !== d && sub.startsWith(prefix) && !sub.slice(prefix.length).includes('/')) names.push(sub.slice(prefix.length));
    }
    return names.sort();
  }

  async mkdirp(dir: string): Promise<void> {
    const d = norm(dir);
    await this.enter('mkdirp', d);
    let current = '/';
    for (const part of d.split('/').filter(Boolean)) {
      const next = posix.join(current, part);
      if (this.dirs.get(current)?.entries.has(part)) throw makeFsError('ENOTDIR', 'mkdir', next);
      if (!this.dirs.has(next)) this.dirs.set(next, new Dir());
      current = next;
    }
  }

  async syncDir(dir: string): Promise<void> {
    const d = norm(dir);
    await this.enter('syncDir', d);
    const entry = this.dirs.get(d);
    if (!entry) throw makeFsError('ENOENT', 'fsync', d);
    entry.durable = new Map(entry.entries);
    this.counters.dirSyncs++;
  }

  async exists(path: string): Promise<boolean> {
    const p = norm(path);
    await this.enter('exists', p);
    return this.dirs.has(p) || this.lookup(p) !== undefined;
  }

  async truncate(path: string, lengthBytes: number): Promise<void> {
    const p = norm(path);
    await this.enter('truncate', p);
    const inode = this.lookup(p);
    if (!inode) throw makeFsError('ENOENT', 'truncate', p);
    inode.resize(lengthBytes);
  }

  // ---- used by SimFileHandle ----

  /** Yields once, runs the hook, then applies injected faults for `op`. */
  async enter(op: SimFsOp, path: string): Promise<void> {
    await Promise.resolve();
    this.enterSync(op, path);
  }

  /** enter() without the yield. */
  enterSync(op: SimFsOp, path: string): void {
    this.onOp?.(op, path);
    const faultOp = FAULTABLE[op];
    if (faultOp === undefined) return;
    for (const rule of this.faults) {
      if (rule.remaining > 0 && (rule.op === faultOp || rule.op === 'any')) {
        rule.remaining--;
        this.faults = this.faults.filter((r) => r.remaining > 0);
        this.counters.faultsInjected++;
        throw makeFsError(rule.code, op, path, `simulated ${rule.code}`);
      }
    }
    if (op === 'append' && this.full) {
      this.counters.faultsInjected++;
      throw makeFsError('ENOSPC', 'write', path, 'simulated full disk');
    }
  }

  private lookup(p: string): Inode | undefined {
    return this.dirs.get(posix.dirname(p))?.entries.get(posix.basename(p));
  }

  private parentDir(p: string, syscall: string): Dir {
    const dir = this.dirs.get(posix.dirname(p));
    if (!dir) throw makeFsError('ENOENT', syscall, p);
    return dir;
  }
}

class SimFileHandle implements FileHandle {
  private closed = false;
  private readonly generation: number;

  constructor(
    protected readonly fs: SimFS,
    readonly path: string,
    private readonly inode: Inode,
    private readonly writable: boolean,
  ) {
    this.generation = fs.generation;
  }

  async append(data: Uint8Array): Promise<void> {
    await this.fs.enter('append', this.path);
    this.appendNow(data);
  }

  protected appendNow(data: Uint8Array): void {
    this.check('write');
    if (!this.writable) throw makeFsError('EBADF', 'write', this.path);
    this.inode.append(data);
    this.fs.counters.appends++;
    this.fs.counters.appendedBytes += data.length;
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    await this.fs.enter('read', this.path);
    this.check('read');
    this.fs.counters.reads++;
    const start = Math.min(position, this.inode.length);
    const end = Math.min(position + length, this.inode.length);
    return this.inode.bytes.slice(start, end);
  }

  async size(): Promise<number> {
    await this.fs.enter('size', this.path);
    this.check('fstat');
    return this.inode.length;
  }

  async sync(): Promise<void> {
    await this.fs.enter('sync', this.path);
    this.check('fsync');
    this.inode.durableLength = this.inode.length;
    this.fs.counters.syncs++;
  }

  async close(): Promise<void> {
    await this.fs.enter('close', this.path);
    this.check('close');
    this.closed = true;
  }

  private check(syscall: string): void {
    if (this.closed) throw makeFsError('EBADF', syscall, this.path, 'file handle closed');
    if (this.generation !== this.fs.generation) throw makeFsError('EBADF', syscall, this.path, 'file handle invalidated by a crash');
  }
}

class SyncAppendSimHandle extends SimFileHandle implements SyncAppendableHandle {
  appendSync(data: Uint8Array): void {
    this.fs.enterSync('append', this.path);
    this.appendNow(data);
  }
}

function norm(path: string): string {
  return posix.resolve('/', path);
}
