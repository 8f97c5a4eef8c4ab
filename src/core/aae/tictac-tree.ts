/**
 * A tictac Merkle tree for one partition replica (after Riak's tictac AAE): each key falls into one
 * leaf segment, and a segment's hash is the XOR of hash(key, version digest) over its keys. XOR makes
 * it updatable from the old and new version of one key on every write — no scan per exchange — and
 * independent of the order writes arrive in. Leaves group into branches, branches into the root; two
 * replicas compare branch hashes, then the leaves of the branches that differ, and only then the keys
 * of the segments that differ.
 *
 * Hashes are 64 bits, held as two 32-bit halves (hi, lo) in typed arrays.
 */
export const DEFAULT_LEAVES = 1024;
export const DEFAULT_BRANCH_FANOUT = 32;

export class TictacTree {
  readonly leafCount: number;
  readonly fanout: number;
  readonly branchCount: number;
  private readonly leafHi: Uint32Array;
  private readonly leafLo: Uint32Array;
  private readonly branchHi: Uint32Array;
  private readonly branchLo: Uint32Array;
  private rootHi = 0;
  private rootLo = 0;

  constructor(leafCount = DEFAULT_LEAVES, fanout = DEFAULT_BRANCH_FANOUT) {
    if (!Number.isInteger(leafCount) || !Number.isInteger(fanout) || fanout < 1 || leafCount < fanout || leafCount % fanout !== 0) {
      throw new RangeError(`tictac tree: leafCount (${leafCount}) must be a positive multiple of fanout (${fanout})`);
    }
    this.leafCount = leafCount;
    this.fanout = fanout;
    this.branchCount = leafCount / fanout;
    this.leafHi = new Uint32Array(leafCount);
    this.leafLo = new Uint32Array(leafCount);
    this.branchHi = new Uint32Array(this.branchCount);
    this.branchLo = new Uint32Array(this.branchCount);
  }

  /** XORs a key's entry hash into its segment (adding and removing are the same operation). */
  toggle(segment: number, hi: number, lo: number): void {
    this.leafHi[segment] ^= hi;
    this.leafLo[segment] ^= lo;
    const b = (segment / this.fanout) | 0;
    this.branchHi[b] ^= hi;
    this.branchLo[b] ^= lo;
    this.rootHi ^= hi;
    this.rootLo ^= lo;
  }

  get root(): string {
    return `${(this.rootHi >>> 0).toString(16).padStart(8, '0')}${(this.rootLo >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** every branch hash, 8 bytes each (hi then lo, little-endian) */
  branches(): Uint8Array {
    return pack(this.branchHi, this.branchLo, 0, this.branchCount);
  }

  /** the leaf hashes of the given branches, fanout × 8 bytes per branch, in the order given */
  leavesOf(branchIds: readonly number[]): Uint8Array {
    const out = new Uint8Array(branchIds.length * this.fanout * 8);
    branchIds.forEach((b, i) => out.set(pack(this.leafHi, this.leafLo, b * this.fanout, this.fanout), i * this.fanout * 8));
    return out;
  }

  /** branches whose hash differs from another tree's branches() */
  differingBranches(other: Uint8Array): number[] {
    if (other.length !== this.branchCount * 8) throw new RangeError(`tictac tree: expected ${this.branchCount * 8} bytes of branches, got ${other.length}`);
    return differing(this.branchHi, this.branchLo, 0, other, this.branchCount);
  }

  /** the leaf segments that differ, given the other tree's leavesOf(branchIds) */
  differingSegments(branchIds: readonly number[], otherLeaves: Uint8Array): number[] {
    if (otherLeaves.length !== branchIds.length * this.fanout * 8) throw new RangeError('tictac tree: leaves do not match the branches asked for');
    const out: number[] = [];
    branchIds.forEach((b, i) => {
      const part = otherLeaves.subarray(i * this.fanout * 8, (i + 1) * this.fanout * 8);
      for (const s of differing(this.leafHi, this.leafLo, b * this.fanout, part, this.fanout)) out.push(b * this.fanout + s);
    });
    return out;
  }
}

function pack(hi: Uint32Array, lo: Uint32Array, from: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(i * 8, hi[from + i], true);
    view.setUint32(i * 8 + 4, lo[from + i], true);
  }
  return out;
}

function differing(hi: Uint32Array, lo: Uint32Array, from: number, other: Uint8Array, count: number): number[] {
  const view = new DataView(other.buffer, other.byteOffset, other.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(i * 8, true) !== hi[from + i] || view.getUint32(i * 8 + 4, true) !== lo[from + i]) out.push(i);
  }
  return out;
}
