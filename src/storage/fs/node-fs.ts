import { open, readFile, rename, unlink, readdir, mkdir, stat, truncate } from 'node:fs/promises';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import type { FileHandle, FS } from './fs.js';

/** The real disk: node:fs/promises with positional reads and real fsync. Errors are node's own. */
export class NodeFS implements FS {
  async openAppend(path: string): Promise<FileHandle> {
    // 'a+': every write goes to the end of the file whatever the position; reads are positional.
    return new NodeFileHandleAdapter(path, await open(path, 'a+'));
  }

  async openRead(path: string): Promise<FileHandle> {
    return new NodeFileHandleAdapter(path, await open(path, 'r'));
  }

  async readFile(path: string): Promise<Uint8Array> {
    return readFile(path);
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    await unlink(path);
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).sort();
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return [];
      throw err;
    }
  }

  async mkdirp(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
  }

  async syncDir(dir: string): Promise<void> {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false;
      throw err;
    }
  }

  async truncate(path: string, lengthBytes: number): Promise<void> {
    await truncate(path, lengthBytes);
  }
}

/** A node:fs/promises FileHandle behind the FS interface's FileHandle. */
export class NodeFileHandleAdapter implements FileHandle {
  constructor(readonly path: string, protected readonly handle: NodeFileHandle) {}

  async append(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.handle.write(data, offset, data.length - offset, null);
      offset += bytesWritten;
    }
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
