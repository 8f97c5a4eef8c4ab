/**
 * The member table: the newest row known for every member, merged row by row (member-entry.ts), plus
 * the scuttlebutt exchange built on it — a digest of versions, and the delta a digest asks for.
 */
import type { NodeId } from '../member.js';
import { DIGEST_STRIDE, contentHash, sameContent, type Digest } from './digest.js';
import { STATUS_RANK, compareEntries, compareVersionFields, type MemberEntry } from './member-entry.js';

/** What a merge did to the table. */
export type MergeResult =
  | { changed: false }
  /** previous is undefined when the member was not known before */
  | { changed: true; previous: MemberEntry | undefined };

const UNCHANGED: MergeResult = Object.freeze({ changed: false });

/** What one side of an exchange answers a peer's digest with. */
export interface Delta {
  /** rows the peer lacks or holds an older version of */
  entries: MemberEntry[];
  /** ids of which the peer holds a newer version (or one this table lacks): "send me these" */
  requests: NodeId[];
}

function byId(a: MemberEntry, b: MemberEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class MemberTable {
  private readonly rows = new Map<NodeId, MemberEntry>();
  /** content hash per member, recomputed only when a row's content (not just its version) changes */
  private readonly hashes = new Map<NodeId, number>();

  constructor(entries: Iterable<MemberEntry> = []) {
    for (const e of entries) this.merge(e);
  }

  get size(): number {
    return this.rows.size;
  }

  get(id: NodeId): MemberEntry | undefined {
    return this.rows.get(id);
  }

  has(id: NodeId): boolean {
    return this.rows.has(id);
  }

  /** every row, sorted by id */
  entries(): MemberEntry[] {
    return [...this.rows.values()].sort(byId);
  }

  /** every row, in the order ids were first merged (deterministic, cheaper than entries()) */
  values(): IterableIterator<MemberEntry> {
    return this.rows.values();
  }

  /** Keeps the greater of the stored row and `entry`. */
  merge(entry: MemberEntry): MergeResult {
    const previous = this.rows.get(entry.id);
    if (previous !== undefined && compareEntries(entry, previous) <= 0) return UNCHANGED;
    this.store(previous, entry);
    return { changed: true, previous };
  }

  /**
   * Replaces a row whatever the order says. Only for the node's own row (which it alone writes) and
   * for loading a stored table; everything a peer says goes through merge().
   */
  replace(entry: MemberEntry): void {
    this.store(this.rows.get(entry.id), entry);
  }

  private store(previous: MemberEntry | undefined, entry: MemberEntry): void {
    this.rows.set(entry.id, entry);
    if (previous === undefined || !sameContent(previous, entry)) this.hashes.set(entry.id, contentHash(entry));
  }

  /** The version of every row (in values() order: a digest's order carries no meaning). */
  digest(): Digest {
    const out: (NodeId | number)[] = new Array(this.rows.size * DIGEST_STRIDE);
    let i = 0;
    for (const e of this.rows.values()) {
      out[i++] = e.id;
      out[i++] = e.incarnation;
      out[i++] = e.heartbeat;
      out[i++] = STATUS_RANK[e.status];
      out[i++] = this.hashes.get(e.id)!;
    }
    return out;
  }

  /**
   * The answer to a peer's digest: the rows that are newer here (or that the digest lacks) and the
   * ids the peer should send (newer there, or unknown here). Equal rows travel in neither direction.
   */
  deltaFor(peerDigest: Digest): Delta {
    const entries: MemberEntry[] = [];
    const requests: NodeId[] = [];
    const mentioned = new Set<NodeId>();
    for (let i = 0; i < peerDigest.length; i += DIGEST_STRIDE) {
      const id = peerDigest[i] as NodeId;
      mentioned.add(id);
      const mine = this.rows.get(id);
      if (mine === undefined) {
        requests.push(id);
        continue;
      }
      const c = compareVersionFields(
        mine.incarnation,
        mine.heartbeat,
        STATUS_RANK[mine.status],
        peerDigest[i + 1] as number,
        peerDigest[i + 2] as number,
        peerDigest[i + 3] as number,
      );
      if (c > 0) entries.push(mine);
      else if (c < 0) requests.push(id);
      else if (this.hashes.get(id) !== peerDigest[i + 4]) {
        // one version, two contents (two processes claim the id): swap both, the merge keeps the greater
        entries.push(mine);
        requests.push(id);
      }
    }
    for (const e of this.rows.values()) if (!mentioned.has(e.id)) entries.push(e);
    entries.sort(byId);
    return { entries, requests };
  }

  /** The rows a peer asked for (in answer to deltaFor's requests); unknown ids are skipped. */
  rowsFor(ids: readonly NodeId[]): MemberEntry[] {
    const out: MemberEntry[] = [];
    for (const id of new Set(ids)) {
      const mine = this.rows.get(id);
      if (mine !== undefined) out.push(mine);
    }
    return out.sort(byId);
  }
}

/** The merge of two whole tables (pure; for tests and for loading): one row per id, the greater. */
export function mergeTables(a: Iterable<MemberEntry>, b: Iterable<MemberEntry>): MemberEntry[] {
  const t = new MemberTable(a);
  for (const e of b) t.merge(e);
  return t.entries();
}
