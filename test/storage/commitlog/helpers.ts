import { CommitLog } from '../../../src/storage/commitlog/commit-log.js';
import type { CommitLogOptions } from '../../../src/storage/commitlog/commit-log.js';
import type { FileHandle, FS } from '../../../src/storage/fs/fs.js';
import type { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { text } from '../storage-test-kit.js';

export { bytes, seededRandom, text } from '../storage-test-kit.js';

export interface Replayed {
  log: CommitLog;
  records: string[];
  segmentIds: number[];
}

export interface CapturingLogger {
  warnings: Array<{ obj: object; msg?: string }>;
  infos: Array<{ obj: object; msg?: string }>;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export function capturingLogger(): CapturingLogger {
  const l: CapturingLogger = {
    warnings: [],
    infos: [],
    warn: (obj, msg) => l.warnings.push({ obj, msg }),
    info: (obj, msg) => l.infos.push({ obj, msg }),
  };
  return l;
}

export async function openAndCollect(fs: FS, opts: CommitLogOptions): Promise<Replayed> {
  const records: string[] = [];
  const segmentIds: number[] = [];
  const log = await CommitLog.open(fs, opts, (record, segmentId) => {
    records.push(text(record));
    segmentIds.push(segmentId);
  });
  return { log, records, segmentIds };
}

/** Settles to the error's code (or message), or undefined on success. */
export async function failureOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  }
}


/** `sim` with its append handles' methods replaced by those `override` returns for each handle. */
export function overrideHandles(sim: SimFS, override: (h: FileHandle, path: string) => Partial<FileHandle>): FS {
  return Object.assign(Object.create(sim) as SimFS, {
    async openAppend(path: string): Promise<FileHandle> {
      const h = await sim.openAppend(path);
      return {
        path: h.path,
        read: (p: number, l: number) => h.read(p, l),
        size: () => h.size(),
        append: (data: Uint8Array) => h.append(data),
        sync: () => h.sync(),
        close: () => h.close(),
        ...override(h, path),
      };
    },
  });
}
