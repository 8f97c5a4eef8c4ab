import { posix } from 'node:path';
import type { NodeStateStore } from '../../cluster/runtime.js';
import { crc32c } from '../crc32c.js';
import { writeFileAtomic } from './atomic-file.js';
import { toStorageError } from '../lsm/lsm-engine.js';
import type { FS } from './fs.js';

/**
 * A node's small durable record (src/cluster/node-identity.ts) as one file in its data directory,
 * replaced atomically, with a CRC-32C trailer. A missing or damaged file reads as "no record", which
 * only ever costs the node a fresh identity — never a reused one.
 */
export class FileStateStore implements NodeStateStore {
  constructor(
    private readonly fs: FS,
    private readonly dir: string,
    private readonly name = 'IDENTITY',
  ) {}

  async read(): Promise<Uint8Array | undefined> {
    const path = posix.join(this.dir, this.name);
    if (!(await this.fs.exists(path))) return undefined;
    const bytes = await this.fs.readFile(path);
    if (bytes.length < 4) return undefined;
    const body = bytes.subarray(0, bytes.length - 4);
    const stored = Buffer.from(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).readUInt32LE(0);
    return crc32c(body) === stored ? body : undefined;
  }

  /** durable on resolve; a full disk is STORAGE_FULL (507), any other failure STORAGE_IO */
  async write(bytes: Uint8Array): Promise<void> {
    const out = Buffer.alloc(bytes.length + 4);
    out.set(bytes, 0);
    out.writeUInt32LE(crc32c(bytes) >>> 0, bytes.length);
    try {
      await this.fs.mkdirp(this.dir);
      await writeFileAtomic(this.fs, this.dir, this.name, out);
    } catch (e) {
      throw toStorageError(e, 'write');
    }
  }
}
