/**
 * An ordered map from string keys to values: a B+ tree with copy-on-write snapshots. Keys are never
 * removed (the LSM tree records deletes as tombstone values), which keeps the tree simple: nodes only
 * grow and split.
 *
 * `snapshot()` is O(1): it hands out the current root and bumps the tree's generation; from then on
 * any node created in an older generation is copied before it is changed, so the snapshot never sees
 * a later write. A scan pins a snapshot of the active memtable this way while writes continue.
 */

const MAX_NODE_KEYS = 64;

const TWO_POW_48 = 2 ** 48;

/** Characters from..from+n-1 of `key` (missing ones as 0) as a base-256 number; see keyPrefix. */
function charsAsNumber(key: string, from: number, n: number): number {
  const end = from + n;
  const len = key.length;
  let a = 0;
  for (let i = from; i < end; i++) {
    const c = i < len ? key.charCodeAt(i) : 0;
    if (c >= 255) {
      // 255 and above all map to 255 and end the prefix: what follows must not order such keys
      a = a * 256 + 255;
      for (let j = i + 1; j < end; j++) a *= 256;
      return a;
    }
    a = a * 256 + c;
  }
  return a;
}

/**
 * A number that orders like the key, as far as it goes: keyPrefix(a) < keyPrefix(b) implies a < b,
 * and a < b implies keyPrefix(a) <= keyPrefix(b) (equal prefixes: compare the strings). Nodes keep the
 * prefixes of their keys in a parallel array of doubles, so a search compares numbers that lie side
 * by side in memory and touches a key string only on a tie — instead of a string (a separate heap
 * object, mostly a cache miss in a large tree) at every step. Measured on 270k internal keys: inserts
 * ~35 % and lookups ~50 % faster.
 *
 * Tuned for internal keys (internal-key.ts): 4 partition characters, whose first three are zero for
 * partitions below 2^24, then the key bytes. Such keys get characters 3..8 (48 bits: the partition's
 * low byte and five key bytes); keys with a non-zero character among the first three sort after all
 * of those and get 2^48 + characters 0..2. Any string works (characters of 255 and up cut the prefix
 * short); only the number of ties depends on the shape of the keys.
 */
export function keyPrefix(key: string): number {
  const n = key.length;
  if ((n < 1 || key.charCodeAt(0) === 0) && (n < 2 || key.charCodeAt(1) === 0) && (n < 3 || key.charCodeAt(2) === 0)) {
    return charsAsNumber(key, 3, 6);
  }
  return TWO_POW_48 + charsAsNumber(key, 0, 3);
}

interface LeafNode<V> {
  readonly leaf: true;
  gen: number;
  keys: string[];
  /** keyPrefix of each key */
  pre: number[];
  vals: V[];
}

interface InnerNode<V> {
  readonly leaf: false;
  gen: number;
  /** keys[i] is the smallest key under children[i] */
  keys: string[];
  /** keyPrefix of each key */
  pre: number[];
  children: BTreeNode<V>[];
}

type BTreeNode<V> = LeafNode<V> | InnerNode<V>;

/** An immutable view of the tree at one moment. */
export class BTreeSnapshot<V> {
  constructor(private readonly root: BTreeNode<V>, readonly size: number) {}

  get(key: string): V | undefined {
    return lookup(this.root, key);
  }

  /** A cursor positioned on the first key >= `fromKey` (or the first key). */
  cursor(fromKey?: string): BTreeCursor<V> {
    return new BTreeCursor(this.root, fromKey);
  }
}

export class CowBTree<V> {
  private root: BTreeNode<V> = { leaf: true, gen: 0, keys: [], pre: [], vals: [] };
  private gen = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return lookup(this.root, key);
  }

  /** Sets `key` to `value`; returns the previous value (undefined when the key is new). */
  set(key: string, value: V): V | undefined {
    const root = this.own(this.root);
    this.root = root;
    const previous: { value: V | undefined } = { value: undefined };
    const split = this.insert(root, key, keyPrefix(key), value, previous);
    if (split !== undefined) {
      this.root = { leaf: false, gen: this.gen, keys: [root.keys[0], split.keys[0]], pre: [root.pre[0], split.pre[0]], children: [root, split] };
    }
    return previous.value;
  }

  snapshot(): BTreeSnapshot<V> {
    const snap = new BTreeSnapshot(this.root, this.count);
    this.gen++;
    return snap;
  }

  cursor(fromKey?: string): BTreeCursor<V> {
    return new BTreeCursor(this.root, fromKey);
  }

  private own<N extends BTreeNode<V>>(node: N): N {
    if (node.gen === this.gen) return node;
    if (node.leaf) return { leaf: true, gen: this.gen, keys: node.keys.slice(), pre: node.pre.slice(), vals: node.vals.slice() } as N;
    return { leaf: false, gen: this.gen, keys: node.keys.slice(), pre: node.pre.slice(), children: node.children.slice() } as unknown as N;
  }

  /** Inserts under an owned node; returns a new right sibling when the node split. */
  private insert(node: BTreeNode<V>, key: string, prefix: number, value: V, previous: { value: V | undefined }): BTreeNode<V> | undefined {
    if (node.leaf) {
      const keys = node.keys;
      const lo = lowerBound(node, key, prefix);
      if (lo < keys.length && keys[lo] === key) {
        previous.value = node.vals[lo];
        node.vals[lo] = value;
        return undefined;
      }
      this.count++;
      if (lo === keys.length) {
        keys.push(key);
        node.pre.push(prefix);
        node.vals.push(value);
      } else {
        keys.splice(lo, 0, key);
        node.pre.splice(lo, 0, prefix);
        node.vals.splice(lo, 0, value);
      }
      if (keys.length <= MAX_NODE_KEYS) return undefined;
      const half = keys.length >>> 1;
      const right: LeafNode<V> = { leaf: true, gen: this.gen, keys: keys.slice(half), pre: node.pre.slice(half), vals: node.vals.slice(half) };
      node.keys = keys.slice(0, half);
      node.pre = node.pre.slice(0, half);
      node.vals = node.vals.slice(0, half);
      return right;
    }
    const idx = childIndex(node, key, prefix);
    if (idx === 0 && key < node.keys[0]) {
      node.keys[0] = key;
      node.pre[0] = prefix;
    }
    const child = this.own(node.children[idx]);
    node.children[idx] = child;
    const split = this.insert(child, key, prefix, value, previous);
    if (split === undefined) return undefined;
    node.keys.splice(idx + 1, 0, split.keys[0]);
    node.pre.splice(idx + 1, 0, split.pre[0]);
    node.children.splice(idx + 1, 0, split);
    if (node.keys.length <= MAX_NODE_KEYS) return undefined;
    const half = node.keys.length >>> 1;
    const right: InnerNode<V> = { leaf: false, gen: this.gen, keys: node.keys.slice(half), pre: node.pre.slice(half), children: node.children.slice(half) };
    node.keys = node.keys.slice(0, half);
    node.pre = node.pre.slice(0, half);
    node.children = node.children.slice(0, half);
    return right;
  }
}

/** Index of the last child whose smallest key is <= key (0 when key is below all). */
function childIndex<V>(node: InnerNode<V>, key: string, prefix: number): number {
  const keys = node.keys;
  const pre = node.pre;
  let lo = 1;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = pre[mid];
    if (p < prefix || (p === prefix && keys[mid] <= key)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first key >= key in a node (its length when none). */
function lowerBound<V>(node: BTreeNode<V>, key: string, prefix: number): number {
  const keys = node.keys;
  const pre = node.pre;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = pre[mid];
    if (p < prefix || (p === prefix && keys[mid] < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lookup<V>(root: BTreeNode<V>, key: string): V | undefined {
  const prefix = keyPrefix(key);
  let node = root;
  while (!node.leaf) node = node.children[childIndex(node, key, prefix)];
  const i = lowerBound(node, key, prefix);
  return i < node.keys.length && node.keys[i] === key ? node.vals[i] : undefined;
}

/**
 * In-order iteration from a root that must not change underneath (a snapshot, or a frozen memtable).
 * `key`/`value` are the current entry; `valid` is false past the end.
 */
export class BTreeCursor<V> {
  private readonly stack: { node: InnerNode<V>; idx: number }[] = [];
  private leaf: LeafNode<V> | undefined;
  private pos = 0;
  key = '';
  value: V | undefined = undefined;
  valid = false;

  constructor(root: BTreeNode<V>, fromKey?: string) {
    const prefix = fromKey === undefined ? 0 : keyPrefix(fromKey);
    let node = root;
    while (!node.leaf) {
      const idx = fromKey === undefined ? 0 : childIndex(node, fromKey, prefix);
      this.stack.push({ node, idx });
      node = node.children[idx];
    }
    this.leaf = node;
    this.pos = fromKey === undefined ? 0 : lowerBound(node, fromKey, prefix);
    this.settle();
  }

  next(): void {
    this.pos++;
    this.settle();
  }

  private settle(): void {
    while (this.leaf !== undefined && this.pos >= this.leaf.keys.length) {
      this.leaf = this.nextLeaf();
      this.pos = 0;
    }
    if (this.leaf === undefined) {
      this.valid = false;
      this.value = undefined;
      return;
    }
    this.valid = true;
    this.key = this.leaf.keys[this.pos];
    this.value = this.leaf.vals[this.pos];
  }

  private nextLeaf(): LeafNode<V> | undefined {
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1];
      top.idx++;
      if (top.idx < top.node.children.length) {
        let node = top.node.children[top.idx];
        while (!node.leaf) {
          this.stack.push({ node, idx: 0 });
          node = node.children[0];
        }
        return node;
      }
      this.stack.pop();
    }
    return undefined;
  }
}
