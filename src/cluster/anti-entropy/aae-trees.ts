import { keyEntryHash, segmentOf } from '../../core/aae/version-digest.js';
import { TictacTree } from '../../core/aae/tictac-tree.js';
import type { VersionedObject } from '../../core/version/versioned-object.js';
import type { Engine } from '../../storage/engine.js';
import { decodeObject } from '../object-codec.js';

type State = 'building' | 'ready';

interface PartitionTree {
  tree: TictacTree;
  state: State;
  /** while building: keys written meanwhile, or being written when the scan began (settled at the end) */
  dirty?: Map<string, Uint8Array>;
}

/** what a rebuild needs of the replica: reads under the key lock, and the keys being written right now */
export interface ReplicaAccess {
  /** the stored object, read under the key's lock (after any write in progress) */
  readLocked(partition: number, key: Uint8Array): Promise<VersionedObject | undefined>;
  /** keys of the partition with a read-merge-write in progress */
  keysInFlight(partition: number): Uint8Array[];
}

export interface AaeTreeStats {
  partitions: number;
  ready: number;
  keysHashed: number;
  rebuilds: number;
}

/**
 * The tictac trees of the partitions this node replicates, kept equal to what the engine stores: the
 * replica calls onStored() after every write it stores (mint, merge, repair), with the object before
 * and after; a partition's tree is rebuilt from a scan when first needed and on a long schedule, to
 * catch changes the hooks cannot see (disk rot, a table set aside).
 *
 * A rebuild scans a snapshot while writes go on. Keys written during the rebuild, or being written
 * when its snapshot was taken, are "dirty": at the end each is read again under its key lock and its
 * scanned contribution replaced by that of what is stored — so the finished tree matches the engine,
 * and every later write's "before" is exactly what the tree holds for the key.
 */
export class AaeTrees {
  private readonly trees = new Map<number, PartitionTree>();
  private readonly building = new Map<number, Promise<TictacTree>>();
  private keysHashed = 0;
  private rebuilds = 0;

  constructor(
    private readonly engine: Engine,
    readonly leafCount: number,
    readonly fanout: number,
    private readonly replica: () => ReplicaAccess,
  ) {}

  /** the partition's tree when it is ready to compare, else undefined */
  ready(partition: number): TictacTree | undefined {
    const t = this.trees.get(partition);
    return t?.state === 'ready' ? t.tree : undefined;
  }

  segmentOf(key: Uint8Array): number {
    return segmentOf(key, this.leafCount);
  }

  /** the replica stored `after` for key (before = what it held); keeps the partition's tree in step */
  onStored(partition: number, key: Uint8Array, before: VersionedObject | undefined, after: VersionedObject | undefined): void {
    const t = this.trees.get(partition);
    if (!t) return; // built from a scan when first needed
    if (t.state === 'building') {
      t.dirty!.set(slotOf(key), Uint8Array.from(key));
      return;
    }
    const segment = segmentOf(key, this.leafCount);
    if (before) this.toggle(t.tree, segment, key, before);
    if (after) this.toggle(t.tree, segment, key, after);
  }

  /** (re)builds a partition's tree from a scan; a rebuild already running is shared */
  rebuild(partition: number): Promise<TictacTree> {
    let running = this.building.get(partition);
    if (!running) {
      running = this.build(partition).finally(() => this.building.delete(partition));
      this.building.set(partition, running);
    }
    return running;
  }

  private async build(partition: number): Promise<TictacTree> {
    const previous = this.trees.get(partition);
    const dirty = new Map<string, Uint8Array>();
    const building: PartitionTree = { tree: new TictacTree(this.leafCount, this.fanout), state: 'building', dirty };
    // from here on writes land in `dirty`; exchanges of this partition wait until the tree is ready.
    // The keys being written now, and the scan's snapshot, are taken in this same turn.
    this.trees.set(partition, building);
    const replica = this.replica();
    for (const key of replica.keysInFlight(partition)) dirty.set(slotOf(key), key);
    /** what the tree holds for each key, so a dirty key's contribution can be replaced */
    const contribution = new Map<string, [number, number]>();
    try {
      for await (const e of this.engine.scan(partition, partition + 1)) {
        const h = keyEntryHash(e.key, decodeObject(e.value, `engine (partition ${partition})`));
        building.tree.toggle(segmentOf(e.key, this.leafCount), h[0], h[1]);
        contribution.set(slotOf(e.key), h);
        this.keysHashed++;
      }
      while (dirty.size > 0) {
        const [slot, key] = dirty.entries().next().value as [string, Uint8Array];
        dirty.delete(slot);
        const segment = segmentOf(key, this.leafCount);
        const old = contribution.get(slot);
        if (old) building.tree.toggle(segment, old[0], old[1]);
        contribution.delete(slot);
        const current = await replica.readLocked(partition, key);
        if (current) {
          const h = keyEntryHash(key, current);
          building.tree.toggle(segment, h[0], h[1]);
          contribution.set(slot, h);
          this.keysHashed++;
        }
      }
    } catch (e) {
      if (previous) this.trees.set(partition, previous);
      else this.trees.delete(partition);
      throw e;
    }
    building.dirty = undefined;
    building.state = 'ready';
    this.rebuilds++;
    return building.tree;
  }
  /** forgets a partition's tree (the node no longer replicates it) */
  drop(partition: number): void {
    this.trees.delete(partition);
  }

  stats(): AaeTreeStats {
    let ready = 0;
    for (const t of this.trees.values()) if (t.state === 'ready') ready++;
    return { partitions: this.trees.size, ready, keysHashed: this.keysHashed, rebuilds: this.rebuilds };
  }

  private toggle(tree: TictacTree, segment: number, key: Uint8Array, obj: VersionedObject): void {
    const [hi, lo] = keyEntryHash(key, obj);
    tree.toggle(segment, hi, lo);
    this.keysHashed++;
  }
}

function slotOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
