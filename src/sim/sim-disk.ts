import type { Clock, Logger, NodeStateStore } from '../cluster/runtime.js';
import type { SyncMode, SyncScheduler } from '../storage/commitlog/commit-log.js';
import type { Engine } from '../storage/engine.js';
import { SimFS } from '../storage/fs/sim-fs.js';
import { FencedFS } from '../storage/lsm/fenced-fs.js';
import { LsmEngine } from '../storage/lsm/lsm-engine.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { FsStateStore } from './fs-state-store.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * What a simulated node stores its data on:
 * - memory: a MemoryEngine that outlives crashes — a perfectly durable disk, fast;
 * - lsm: the real LSM engine over the node's SimFS. A crash drops every byte not yet fsynced (with a
 *   torn tail), so in `periodic` sync mode acknowledged writes of the last sync interval can go.
 */
export type StorageOptions =
  | { engine: 'memory' }
  | {
      engine: 'lsm';
      syncMode: SyncMode;
      /** periodic mode: fsync interval in virtual ms @default 10 */
      periodicSyncMs?: number;
      /** tiny, so that even short runs flush and compact tables @default 1 KiB */
      memtableSizeBytes?: number;
    };

export const MEMORY_STORAGE: StorageOptions = { engine: 'memory' };

const DATA_DIR = '/data';
const STATE_PATH = '/node-state';
/** the gossip membership's record (member table, ring history), beside the identity record */
const MEMBERSHIP_PATH = '/membership-state';
const DEFAULT_PERIODIC_SYNC_MS = 10;
const DEFAULT_MEMTABLE_BYTES = 1024;

/** how long after a write a periodic-mode crash may still lose it: the sync interval, with margin */
export function lossWindowMs(storage: StorageOptions): number {
  return storage.engine === 'lsm' && storage.syncMode === 'periodic' ? 2 * (storage.periodicSyncMs ?? DEFAULT_PERIODIC_SYNC_MS) + 1 : 0;
}

/** One incarnation's handles on the disk: what a crash must stop dead. */
export interface DiskSession {
  engine: Engine;
  stateStore: NodeStateStore;
  /** the membership record's store (used by nodes that run gossip membership) */
  membershipStore: NodeStateStore;
  /** no more I/O from this incarnation: abruptly at a crash (the disk crashes separately), or last at a clean stop */
  halt(): void;
  /** graceful: closes the engine, after which everything acknowledged is durable (the state store stays usable until halt) */
  close(): Promise<void>;
}

/**
 * One node's disk. It survives crashes (losing what was not fsynced) and is thrown away whole by
 * replace(): a new, empty disk under the same node id, identity and membership records included.
 */
export class SimDisk {
  private fs = new SimFS();
  private memory = new MemoryEngine();
  /** times this disk was replaced */
  replacements = 0;

  constructor(readonly storage: StorageOptions) {}

  /** Opens the engine and the identity store for a new incarnation, on this node's clock. */
  async open(clock: Clock, logger: Logger | undefined): Promise<DiskSession> {
    const fenced = new FencedFS(this.fs);
    const stateStore = new FsStateStore(fenced, STATE_PATH);
    const membershipStore = new FsStateStore(fenced, MEMBERSHIP_PATH);
    const storage = this.storage;
    if (storage.engine === 'memory') {
      // the memory engine is the disk: it is neither halted nor closed, the next incarnation reuses it
      return { engine: this.memory, stateStore, membershipStore, halt: () => fenced.fence(), close: async () => {} };
    }
    const engine = await LsmEngine.open(this.fs, {
      dir: DATA_DIR,
      syncMode: storage.syncMode,
      periodicSyncMs: storage.periodicSyncMs ?? DEFAULT_PERIODIC_SYNC_MS,
      syncScheduler: virtualTimeScheduler(clock),
      memtableSizeBytes: storage.memtableSizeBytes ?? DEFAULT_MEMTABLE_BYTES,
      blockCacheBytes: 256 * 1024,
      // a byte rate would pace compaction on the real clock: unlimited keeps runs deterministic
      compactionRateBytesPerSec: Infinity,
      // one thread, no real-time waits: tables are built in line, batches go out in microtasks, and
      // the compaction slowdown (a real-time timer) is off; write stalls, which wait on flushes, stay
      tableWorker: false,
      deferBatch: queueMicrotask,
      compactionSlowdownTables: Infinity,
      nowMs: () => clock.nowMs(),
      logger,
    });
    return {
      engine,
      stateStore,
      membershipStore,
      halt: () => {
        engine.halt();
        fenced.fence();
      },
      close: () => engine.close(),
    };
  }

  /** the machine goes down: un-fsynced bytes are lost, the last unsynced write of a file may tear */
  crash(random: SeededRandom): void {
    this.fs.crash({ tearLastWrite: true, random: () => random.next() });
  }

  /** a new, empty disk: data and identity record gone */
  replace(): void {
    this.fs = new SimFS();
    this.memory = new MemoryEngine();
    this.replacements++;
  }
}

/** the commit log's periodic fsync driven by the node's (virtual, crash-scoped) clock */
function virtualTimeScheduler(clock: Clock): SyncScheduler {
  return (tick, intervalMs) => {
    let stopped = false;
    let handle = clock.setTimer(intervalMs, function fire() {
      if (stopped) return;
      tick();
      handle = clock.setTimer(intervalMs, fire);
    });
    return () => {
      stopped = true;
      handle.cancel();
    };
  };
}
