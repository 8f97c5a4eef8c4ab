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

interface LeafNode<V> {
  readonly leaf: true;
  gen: number;
  keys: string[];
  vals: V[];
}

interface InnerNode<V> {
  readonly leaf: false;
  gen: number;
  /** keys[i] is the smallest key under children[i] */
  keys: string[];
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
  private root: BTreeNode<V> = { leaf: true, gen: 0, keys: [], vals: [] };
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
    const split = this.insert(root, key, value, previous);
    if (split !== undefined) {
      this.root = { leaf: false, gen: this.gen, keys: [root.keys[0], split.keys[0]], children: [root, split] };
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
    if (node.leaf) return { leaf: true, gen: this.gen, keys: node.keys.slice(), vals: node.vals.slice() } as N;
    return { leaf: false, gen: this.gen, keys: node.keys.slice(), children: node.children.slice() } as unknown as N;
  }

  /** Inserts under an owned node; returns a new right sibling when the node split. */
  private insert(node: BTreeNode<V>, key: string, value: V, previous: { value: V | undefined }): BTreeNode<V> | undefined {
    if (node.leaf) {
      const keys = node.keys;
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keys[mid] < key) lo = mid + 1;
        else hi = mid;
      }
      if (lo < keys.length && keys[lo] === key) {
        previous.value = node.vals[lo];
        node.vals[lo] = value;
        return undefined;
      }
      this.count++;
      if (lo === keys.length) {
        keys.push(key);
        node.vals.push(value);
      } else {
        keys.splice(lo, 0, key);
        node.vals.splice(lo, 0, value);
      }
      if (keys.length <= MAX_NODE_KEYS) return undefined;
      const half = keys.length >>> 1;
      const right: LeafNode<V> = { leaf: true, gen: this.gen, keys: keys.slice(half), vals: node.vals.slice(half) };
      node.keys = keys.slice(0, half);
      node.vals = node.vals.slice(0, half);
      return right;
    }
    const idx = childIndex(node.keys, key);
    if (idx === 0 && key < node.keys[0]) node.keys[0] = key;
    const child = this.own(node.children[idx]);
    node.children[idx] = child;
    const split = this.insert(child, key, value, previous);
    if (split === undefined) return undefined;
    node.keys.splice(idx + 1, 0, split.keys[0]);
    node.children.splice(idx + 1, 0, split);
    if (node.keys.length <= MAX_NODE_KEYS) return undefined;
    const half = node.keys.length >>> 1;
    const right: InnerNode<V> = { leaf: false, gen: this.gen, keys: node.keys.slice(half), children: node.children.slice(half) };
    node.keys = node.keys.slice(0, half);
    node.children = node.children.slice(0, half);
    return right;
  }
}

/** Index of the last child whose smallest key is <= key (0 when key is below all). */
function childIndex(keys: string[], key: string): number {
  let lo = 1;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function lookup<V>(root: BTreeNode<V>, key: string): V | undefined {
  let node = root;
  while (!node.leaf) node = node.children[childIndex(node.keys, key)];
  const keys = node.keys;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid];
    if (k < key) lo = mid + 1;
    else if (k > key) hi = mid;
    else return node.vals[mid];
  }
  return undefined;
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
    let node = root;
    while (!node.leaf) {
      const idx = fromKey === undefined ? 0 : childIndex(node.keys, fromKey);
      this.stack.push({ node, idx });
      node = node.children[idx];
    }
    this.leaf = node;
    let pos = 0;
    if (fromKey !== undefined) {
      let hi = node.keys.length;
      while (pos < hi) {
        const mid = (pos + hi) >>> 1;
        if (node.keys[mid] < fromKey) pos = mid + 1;
        else hi = mid;
      }
    }
    this.pos = pos;
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
