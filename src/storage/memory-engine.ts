import { compareEntryKeys, type Engine, type EngineEntry, type EngineStats } from './engine.js';

/**
 * An in-memory engine for the simulator and `--engine memory`. Values are copied in and out so a
 * caller mutating a buffer cannot change stored data.
 */
export class MemoryEngine implements Engine {
  private readonly data = new Map<string, EngineEntry>();
  private closed = false;

  private static slot(partition: number, key: Uint8Array): string {
    return `${partition}:${Buffer.from(key).toString('latin1')}`;
  }

  async get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const entry = this.data.get(MemoryEngine.slot(partition, key));
    return entry ? Uint8Array.from(entry.value) : undefined;
  }

  async put(partition: number, key: Uint8Array, value: Uint8Array): Promise<void> {
    this.assertOpen();
    this.data.set(MemoryEngine.slot(partition, key), { partition, key: Uint8Array.from(key), value: Uint8Array.from(value) });
  }

  async delete(partition: number, key: Uint8Array): Promise<void> {
    this.assertOpen();
    this.data.delete(MemoryEngine.slot(partition, key));
  }

  async *scan(fromPartition: number, toPartition: number): AsyncIterable<EngineEntry> {
    this.assertOpen();
    const snapshot = [...this.data.values()]
      .filter((e) => e.partition >= fromPartition && e.partition < toPartition)
      .sort((a, b) => compareEntryKeys(a.partition, a.key, b.partition, b.key));
    for (const e of snapshot) yield { partition: e.partition, key: Uint8Array.from(e.key), value: Uint8Array.from(e.value) };
  }

  stats(): EngineStats {
    return { keys: this.data.size };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('engine is closed');
  }
}
