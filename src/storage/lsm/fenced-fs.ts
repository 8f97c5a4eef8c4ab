import { canAppendSync, makeFsError, type FileHandle, type FS } from '../fs/fs.js';
import { canReadSync } from './pread-fs.js';

/**
 * Wraps an FS so that one engine can be cut off from the disk at once: after `fence()` every later
 * operation of this engine fails with EBADF. Crash simulations fence the engine they abandon, so its
 * background flushes and compactions cannot touch the files of the engine that reopens the disk.
 */
export class FencedFS implements FS {
  private fenced = false;

  constructor(private readonly inner: FS) {}

  fence(): void {
    this.fenced = true;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  check(op: string, path: string): void {
    if (this.fenced) throw makeFsError('EBADF', op, path, 'engine halted');
  }

  async openAppend(path: string): Promise<FileHandle> {
    this.check('open', path);
    return new FencedHandle(this, await this.inner.openAppend(path));
  }

  async openRead(path: string): Promise<FileHandle> {
    this.check('open', path);
    return new FencedHandle(this, await this.inner.openRead(path));
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.check('read', path);
    return this.inner.readFile(path);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check('rename', from);
    return this.inner.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    return this.inner.unlink(path);
  }

  async list(dir: string): Promise<string[]> {
    this.check('scandir', dir);
    return this.inner.list(dir);
  }

  async mkdirp(dir: string): Promise<void> {
    this.check('mkdir', dir);
    return this.inner.mkdirp(dir);
  }

  async syncDir(dir: string): Promise<void> {
    this.check('fsync', dir);
    return this.inner.syncDir(dir);
  }

  async exists(path: string): Promise<boolean> {
    this.check('stat', path);
    return this.inner.exists(path);
  }

  async truncate(path: string, lengthBytes: number): Promise<void> {
    this.check('truncate', path);
    return this.inner.truncate(path, lengthBytes);
  }
}

class FencedHandle implements FileHandle {
  /** present only when the inner handle has it (see pread-fs.ts) */
  readSync?: (position: number, length: number, into?: Buffer) => Uint8Array;
  appendSync?: (data: Uint8Array) => void;

  constructor(private readonly owner: FencedFS, private readonly inner: FileHandle) {
    if (canReadSync(inner)) {
      this.readSync = (position, length, into) => {
        owner.check('read', inner.path);
        return inner.readSync(position, length, into);
      };
    }
    if (canAppendSync(inner)) {
      this.appendSync = (data) => {
        owner.check('write', inner.path);
        inner.appendSync(data);
      };
    }
  }

  get path(): string {
    return this.inner.path;
  }

  append(data: Uint8Array): Promise<void> {
    this.owner.check('write', this.inner.path);
    return this.inner.append(data);
  }

  read(position: number, length: number): Promise<Uint8Array> {
    this.owner.check('read', this.inner.path);
    return this.inner.read(position, length);
  }

  size(): Promise<number> {
    this.owner.check('fstat', this.inner.path);
    return this.inner.size();
  }

  sync(): Promise<void> {
    this.owner.check('fsync', this.inner.path);
    return this.inner.sync();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
