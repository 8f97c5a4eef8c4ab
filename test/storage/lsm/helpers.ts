import { SimFS } from '../../../src/storage/fs/sim-fs.js';
import { LsmEngine, type LsmEngineOptions } from '../../../src/storage/lsm/lsm-engine.js';

export const DIR = '/db';

export { seededRandom } from '../storage-test-kit.js';

export function smallOptions(extra: Partial<LsmEngineOptions> = {}): LsmEngineOptions {
  return { dir: DIR, syncMode: 'batch', memtableSizeBytes: 4096, blockSizeBytes: 512, blockCacheBytes: 16 * 1024, compactionMinTables: 3, ...extra };
}

/**
 * Simulates a power loss: the engine is cut off from the disk, operations it already started run
 * out, then the disk drops (or tears) everything unsynced.
 */
export async function crashEngine(engine: LsmEngine, fs: SimFS, random: () => number, tear = true): Promise<void> {
  engine.halt();
  await new Promise((resolve) => setImmediate(resolve));
  fs.crash({ tearLastWrite: tear, random });
}

export function slot(partition: number, key: Uint8Array): string {
  return `${partition}:${Buffer.from(key).toString('hex')}`;
}

export async function collect(engine: LsmEngine, from: number, to: number): Promise<string[]> {
  const out: string[] = [];
  for await (const e of engine.scan(from, to)) out.push(`${slot(e.partition, e.key)}=${Buffer.from(e.value).toString('hex')}`);
  return out;
}
