/**
 * The FS interface across a thread boundary. The table worker (table-worker.ts) builds SSTables, but
 * every file operation it makes is carried out by the engine's thread on the engine's own FS: so the
 * worker's I/O goes through the same FencedFS (a halted engine's worker cannot touch the disk) and,
 * in tests, the same SimFS that crashes, tears writes and fails operations. The worker does the CPU
 * work (block encoding, checksums, bloom filters, merging); the messages carry whole chunks (1 MiB
 * appends, 256 KiB reads), so the engine's thread does a few calls per megabyte.
 *
 *   worker → engine  { t: 'fs', id, op, args }     op: an FS method, or a handle method with args[0] = handle id
 *   engine → worker  { t: 'fsr', id, value } | { t: 'fsr', id, error: WireError }
 */
import type { FileHandle, FS } from '../fs/fs.js';

export interface WireError {
  name: string;
  message: string;
  code?: string;
  file?: string;
  offset?: number;
  /** compaction: which input table failed its checksums */
  input?: number;
}

export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { code?: unknown; file?: unknown; offset?: unknown; input?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.file === 'string' ? { file: e.file } : {}),
    ...(typeof e.offset === 'number' ? { offset: e.offset } : {}),
    ...(typeof e.input === 'number' ? { input: e.input } : {}),
  };
}

/** An Error with the wire error's message and code (so isFsError and toStorageError still work). */
export function plainErrorFromWire(w: WireError): Error {
  const err = new Error(w.message) as Error & { code?: string };
  if (w.code !== undefined) err.code = w.code;
  return err;
}

type FsOp = 'openAppend' | 'openRead' | 'readFile' | 'rename' | 'unlink' | 'list' | 'mkdirp' | 'syncDir' | 'exists' | 'truncate';
type HandleOp = 'append' | 'read' | 'size' | 'sync' | 'close';

export interface FsRequest {
  t: 'fs';
  id: number;
  op: FsOp | HandleOp;
  args: unknown[];
}

export interface FsReply {
  t: 'fsr';
  id: number;
  value?: unknown;
  error?: WireError;
}

/** What RemoteFS posts through (a worker's parentPort, or anything alike). */
export interface MessageSink {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
}

/** An ArrayBuffer that may be transferred with `bytes`: only when the view covers all of it. */
export function transferable(bytes: Uint8Array): ArrayBuffer[] {
  const ab = bytes.buffer;
  return ab instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === ab.byteLength ? [ab] : [];
}

/** Worker side: an FS whose every operation is a request to the engine's thread. */
export class RemoteFS implements FS {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly sink: MessageSink) {}

  /** Feed every 'fsr' message here. */
  onReply(reply: FsReply): void {
    const w = this.waiting.get(reply.id);
    if (w === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.error !== undefined) w.reject(plainErrorFromWire(reply.error));
    else w.resolve(reply.value);
  }

  call(op: FsOp | HandleOp, args: unknown[], transfer: ArrayBuffer[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.sink.postMessage({ t: 'fs', id, op, args } satisfies FsRequest, transfer);
    });
  }

  async openAppend(path: string): Promise<FileHandle> {
    return new RemoteHandle(this, path, (await this.call('openAppend', [path])) as number);
  }

  async openRead(path: string): Promise<FileHandle> {
    return new RemoteHandle(this, path, (await this.call('openRead', [path])) as number);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return (await this.call('readFile', [path])) as Uint8Array;
  }

  async rename(from: string, to: string): Promise<void> {
    await this.call('rename', [from, to]);
  }

  async unlink(path: string): Promise<void> {
    await this.call('unlink', [path]);
  }

  async list(dir: string): Promise<string[]> {
    return (await this.call('list', [dir])) as string[];
  }

  async mkdirp(dir: string): Promise<void> {
    await this.call('mkdirp', [dir]);
  }

  async syncDir(dir: string): Promise<void> {
    await this.call('syncDir', [dir]);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.call('exists', [path])) as boolean;
  }

  async truncate(path: string, lengthBytes: number): Promise<void> {
    await this.call('truncate', [path, lengthBytes]);
  }
}

/** Node pools only allocations under 4 KiB; anything this large has an ArrayBuffer of its own. */
const OWN_BUFFER_MIN_BYTES = 64 * 1024;

class RemoteHandle implements FileHandle {
  constructor(private readonly fs: RemoteFS, readonly path: string, private readonly handleId: number) {}

  /**
   * Takes ownership of data's memory when it is a large buffer of its own: in the worker only the
   * SstableWriter appends, and it hands over each output buffer for good (see SstableWriter.writeOut).
   * Small buffers may live in Node's shared pool and are copied.
   */
  async append(data: Uint8Array): Promise<void> {
    const ab = data.buffer;
    const own = ab instanceof ArrayBuffer && ab.byteLength >= OWN_BUFFER_MIN_BYTES ? [ab] : [];
    await this.fs.call('append', [this.handleId, data], own);
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    return (await this.fs.call('read', [this.handleId, position, length])) as Uint8Array;
  }

  async size(): Promise<number> {
    return (await this.fs.call('size', [this.handleId])) as number;
  }

  async sync(): Promise<void> {
    await this.fs.call('sync', [this.handleId]);
  }

  async close(): Promise<void> {
    await this.fs.call('close', [this.handleId]);
  }
}

/**
 * Engine side: carries out a worker's FS requests on the real FS. Handles it opened and the worker
 * did not close are closed by closeAll() (a job that failed half-way).
 */
export class FsHost {
  private nextHandle = 1;
  private readonly handles = new Map<number, FileHandle>();

  constructor(private readonly fs: FS) {}

  /** Runs one request; resolves with the reply and the buffers to transfer with it. */
  async serve(req: FsRequest): Promise<{ reply: FsReply; transfer: ArrayBuffer[] }> {
    try {
      const value = await this.run(req);
      const transfer = value instanceof Uint8Array ? transferable(value) : [];
      return { reply: { t: 'fsr', id: req.id, value }, transfer };
    } catch (err) {
      return { reply: { t: 'fsr', id: req.id, error: errorToWire(err) }, transfer: [] };
    }
  }

  async closeAll(): Promise<void> {
    const open = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(open.map((h) => h.close().catch(() => undefined)));
  }

  private handle(id: unknown): FileHandle {
    const h = this.handles.get(id as number);
    if (h === undefined) throw new Error(`table worker used an unknown file handle ${String(id)}`);
    return h;
  }

  private keep(h: FileHandle): number {
    const id = this.nextHandle++;
    this.handles.set(id, h);
    return id;
  }

  private async run(req: FsRequest): Promise<unknown> {
    const a = req.args;
    switch (req.op) {
      case 'openAppend':
        return this.keep(await this.fs.openAppend(a[0] as string));
      case 'openRead':
        return this.keep(await this.fs.openRead(a[0] as string));
      case 'readFile':
        return this.fs.readFile(a[0] as string);
      case 'rename':
        return this.fs.rename(a[0] as string, a[1] as string);
      case 'unlink':
        return this.fs.unlink(a[0] as string);
      case 'list':
        return this.fs.list(a[0] as string);
      case 'mkdirp':
        return this.fs.mkdirp(a[0] as string);
      case 'syncDir':
        return this.fs.syncDir(a[0] as string);
      case 'exists':
        return this.fs.exists(a[0] as string);
      case 'truncate':
        return this.fs.truncate(a[0] as string, a[1] as number);
      case 'append':
        return this.handle(a[0]).append(a[1] as Uint8Array);
      case 'read':
        return this.handle(a[0]).read(a[1] as number, a[2] as number);
      case 'size':
        return this.handle(a[0]).size();
      case 'sync':
        return this.handle(a[0]).sync();
      case 'close': {
        const h = this.handle(a[0]);
        this.handles.delete(a[0] as number);
        return h.close();
      }
    }
  }
}
