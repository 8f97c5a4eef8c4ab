import { posix } from 'node:path';
import type { NodeStateStore } from '../cluster/runtime.js';
import type { FS } from '../storage/fs/fs.js';

/**
 * A node's identity record as one small file beside its data, replaced atomically: written to a
 * temporary file, fsynced, renamed into place, directory fsynced. A crash at any point leaves the old
 * record or the new one, never a torn one; a replaced disk leaves none. Works over any FS: the
 * simulator gives it the node's SimFS (behind a fence per incarnation, so a crashed incarnation's
 * late write cannot land on the disk its successor opened).
 */
export class FsStateStore implements NodeStateStore {
  constructor(
    private readonly fs: FS,
    private readonly path: string,
  ) {}

  async read(): Promise<Uint8Array | undefined> {
    if (!(await this.fs.exists(this.path))) return undefined;
    return this.fs.readFile(this.path);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const dir = posix.dirname(this.path);
    const tmp = `${this.path}.tmp`;
    await this.fs.mkdirp(dir);
    if (await this.fs.exists(tmp)) await this.fs.unlink(tmp);
    const handle = await this.fs.openAppend(tmp);
    try {
      await handle.append(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fs.rename(tmp, this.path);
    await this.fs.syncDir(dir);
  }
}
