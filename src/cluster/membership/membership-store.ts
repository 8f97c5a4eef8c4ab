/**
 * The member table and the ring history on the node's disk, so a restart knows its cluster before
 * the first gossip: which members exist (treated as up until the detector convicts them), which ring
 * epoch it had, and the epochs before it. The store is the same two-method record as NodeStateStore
 * (read / durable write), a separate file in the data directory; the wiring gives it a name.
 *
 * Writes are serialised (a newer snapshot never lands before an older one) and coalesced: while one is
 * in flight, later requests collapse into one more write of the latest state.
 */
import { Packr } from 'msgpackr';
import { parseMemberEntry, type MemberEntry } from '../../core/membership/member-entry.js';
import { encodeRingEpoch, parseRingEpoch, type RingEpoch, type RingEpochWire } from '../../core/membership/ring-epoch.js';
import type { Logger, NodeStateStore } from '../runtime.js';

export type MembershipStore = NodeStateStore;

export interface StoredMembership {
  entries: MemberEntry[];
  /** oldest first; the last is the ring the node had installed */
  rings: RingEpoch[];
}

interface StoredRecord {
  format: 1;
  cluster: string;
  entries: MemberEntry[];
  rings: RingEpochWire[];
}

const packr = new Packr({ useRecords: false });

export function encodeMembership(cluster: string, state: StoredMembership): Uint8Array {
  const record: StoredRecord = { format: 1, cluster, entries: state.entries, rings: state.rings.map(encodeRingEpoch) };
  return packr.pack(record);
}

/**
 * The stored state, or undefined when there is none or it cannot be used (unreadable, another
 * cluster's): the node then starts from its configuration, which is always safe — gossip brings the
 * rest. Each case is logged.
 */
export function decodeMembership(bytes: Uint8Array | undefined, cluster: string, logger: Logger): StoredMembership | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  let record: Partial<StoredRecord>;
  try {
    record = packr.unpack(bytes) as Partial<StoredRecord>;
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'membership record unreadable: starting from configuration');
    return undefined;
  }
  if (record?.format !== 1 || !Array.isArray(record.entries) || !Array.isArray(record.rings)) {
    logger.warn({}, 'membership record has an unknown layout: starting from configuration');
    return undefined;
  }
  if (record.cluster !== cluster) {
    logger.warn({ stored: String(record.cluster), cluster }, 'membership record is of another cluster: ignored');
    return undefined;
  }
  try {
    return { entries: record.entries.map(parseMemberEntry), rings: record.rings.map(parseRingEpoch) };
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'membership record invalid: starting from configuration');
    return undefined;
  }
}

/** Serialised, coalescing writer. */
export class MembershipPersister {
  private inFlight: Promise<void> | undefined;
  private pending = false;
  private writes = 0;
  private failures = 0;

  constructor(
    private readonly store: MembershipStore,
    private readonly snapshot: () => Uint8Array,
    private readonly logger: Logger,
  ) {}

  get writeCount(): number {
    return this.writes;
  }

  get failureCount(): number {
    return this.failures;
  }

  /** Asks for the current state to be written; resolves once a write that includes it is durable. */
  request(): Promise<void> {
    if (this.inFlight === undefined) {
      this.inFlight = this.writeLoop().finally(() => (this.inFlight = undefined));
      return this.inFlight;
    }
    this.pending = true;
    return this.inFlight;
  }

  private async writeLoop(): Promise<void> {
    do {
      this.pending = false;
      try {
        await this.store.write(this.snapshot());
        this.writes++;
      } catch (e) {
        this.failures++;
        this.logger.error({ err: (e as Error).message }, 'membership record write failed (will retry on the next change)');
      }
    } while (this.pending);
  }
}
