import { Packr } from 'msgpackr';
import type { NodeId } from '../core/member.js';
import type { Engine } from '../storage/engine.js';
import type { Logger, NodeStateStore, Random } from './runtime.js';

/**
 * Who this node is, for versions: its incarnation number and the version-vector actor it mints dots
 * under. An actor must never be reused with a different history (Riak's kv679: a replica whose state
 * went backwards re-minted dots it had already handed out, and acknowledged writes vanished). So the
 * actor changes whenever the node cannot prove its stored state is complete:
 * - the first start on a data directory (a new or replaced disk: the old record is gone with it);
 * - a start after an unclean stop (a crash in `periodic` sync mode can lose acknowledged writes);
 * - the engine reporting data loss (a corrupt table set aside, corrupt commit-log records skipped),
 *   at start-up or while running;
 * - a caller retiring the actor (a partition's data dropped, tombstones reaped).
 * A clean stop keeps it, so version vectors do not grow by an entry per restart.
 *
 * The actor is `<node id>#<tag>`, the tag being the incarnation in base 36 plus random characters:
 * unique even when a replaced disk restarts the incarnation count.
 *
 * It also keeps the hybrid logical clock from going backwards across restarts: timestamps are only
 * handed out below a persisted ceiling, raised (durably) a second at a time ahead of need.
 */
export interface NodeIdentityState {
  format: 1;
  incarnation: number;
  actor: string;
  /** no HLC wall time at or above this was handed out; a restart starts its HLC here */
  hlcCeilingMs: number;
  /** true from start until a clean stop: found true at start = the last stop was unclean */
  running: boolean;
}

export interface NodeIdentityOptions {
  self: NodeId;
  /** absent: an ephemeral identity (fresh actor every time, nothing persisted) — always safe, vectors grow per start */
  store?: NodeStateStore;
  random: Random;
  engine?: Engine;
  logger?: Logger;
}

const packr = new Packr({ useRecords: false });
/** how far ahead of the clock the persisted HLC ceiling is raised each time */
export const HLC_CEILING_STEP_MS = 1000;
const TAG_RANDOM_CHARS = 6;

export class NodeIdentity {
  private state: NodeIdentityState;
  private engineLossSeen: number;
  private persisting: Promise<void> = Promise.resolve();
  private ceilingRaise: Promise<void> | undefined;
  /** why the actor changed at open, for logs and tests */
  readonly openReason: string;

  private constructor(
    private readonly opts: NodeIdentityOptions,
    state: NodeIdentityState,
    openReason: string,
  ) {
    this.state = state;
    this.openReason = openReason;
    this.engineLossSeen = opts.engine?.dataLossCount?.() ?? 0;
  }

  /** Loads (or creates) the identity and records durably that this incarnation is running. */
  static async open(opts: NodeIdentityOptions): Promise<NodeIdentity> {
    const previous = opts.store ? decodeState(await opts.store.read(), opts.logger) : undefined;
    const incarnation = (previous?.incarnation ?? 0) + 1;
    let reason: string;
    let actor: string;
    if (!previous) {
      reason = opts.store ? 'no identity record (new or replaced data directory)' : 'ephemeral identity';
      actor = newActor(opts.self, incarnation, opts.random);
    } else if (previous.running) {
      reason = 'the last stop was unclean';
      actor = newActor(opts.self, incarnation, opts.random);
    } else if ((opts.engine?.dataLossCount?.() ?? 0) > 0) {
      reason = 'the engine lost data while opening';
      actor = newActor(opts.self, incarnation, opts.random);
    } else {
      reason = 'clean restart: actor kept';
      actor = previous.actor;
    }
    const state: NodeIdentityState = { format: 1, incarnation, actor, hlcCeilingMs: previous?.hlcCeilingMs ?? 0, running: true };
    const identity = new NodeIdentity(opts, state, reason);
    await identity.persist();
    opts.logger?.info({ incarnation, actor, reason }, 'node identity');
    return identity;
  }

  /** A fresh actor, nothing persisted: for tests and embedded nodes without a data directory. */
  static ephemeral(self: NodeId, random: Random): NodeIdentity {
    const incarnation = 1;
    return new NodeIdentity({ self, random }, { format: 1, incarnation, actor: newActor(self, incarnation, random), hlcCeilingMs: 0, running: true }, 'ephemeral identity');
  }

  /**
   * whether the stored data may be incomplete at this start (a new or replaced directory, an unclean
   * stop, engine data loss, or no persistent identity at all): anti-entropy then exchanges everything
   */
  get mayHaveLostState(): boolean {
    return this.openReason !== 'clean restart: actor kept';
  }

  get incarnation(): number {
    return this.state.incarnation;
  }

  /** the version-vector actor new dots are minted under */
  get actor(): string {
    return this.state.actor;
  }

  /** the HLC must start at or above this after a restart */
  get hlcFloorMs(): number {
    return this.state.hlcCeilingMs;
  }

  /**
   * Call before minting, after reading the key's local copy: when the engine has lost data since the
   * last check (a read may just have set a corrupt table aside), takes a new actor first.
   */
  currentActor(): string {
    const loss = this.opts.engine?.dataLossCount?.() ?? 0;
    if (loss !== this.engineLossSeen) {
      this.engineLossSeen = loss;
      this.retireActor('the engine lost data');
    }
    return this.state.actor;
  }

  /**
   * Takes a new actor at once: no dot is minted under the old one afterwards. Persisting it is only
   * needed for a later clean restart (an unclean one takes a new actor anyway), so it runs behind.
   */
  retireActor(reason: string): void {
    const old = this.state.actor;
    this.state = { ...this.state, actor: newActor(this.opts.self, this.state.incarnation, this.opts.random) };
    this.retirements++;
    this.opts.logger?.warn({ old, actor: this.state.actor, reason }, 'version actor retired');
    this.persist().catch((e) => this.opts.logger?.error({ err: String(e) }, 'could not persist the node identity'));
  }

  /** actors retired while running (not counting start-up) */
  retirements = 0;

  /**
   * Makes sure HLC wall times up to wallMs may be handed out: when wallMs reaches the persisted
   * ceiling, raises it (durably) to wallMs + HLC_CEILING_STEP_MS first. Returns at once otherwise.
   */
  reserveHlc(wallMs: number): Promise<void> | undefined {
    if (wallMs < this.state.hlcCeilingMs) return undefined;
    if (!this.ceilingRaise) {
      this.state = { ...this.state, hlcCeilingMs: Math.max(this.state.hlcCeilingMs, wallMs + HLC_CEILING_STEP_MS) };
      this.ceilingRaise = this.persist().finally(() => (this.ceilingRaise = undefined));
      return this.ceilingRaise;
    }
    // a raise is in flight; if it does not cover wallMs, raise again after it
    return this.ceilingRaise.then(() => this.reserveHlc(wallMs));
  }

  /** Records a clean stop: call after the engine is closed (everything acknowledged is durable). */
  async closeClean(): Promise<void> {
    this.state = { ...this.state, running: false };
    await this.persist();
  }

  private persist(): Promise<void> {
    const store = this.opts.store;
    if (!store) return Promise.resolve();
    // writes are serialised so an older state never lands after a newer one
    const snapshot = this.state;
    this.persisting = this.persisting.catch(() => undefined).then(() => store.write(packr.pack(snapshot)));
    return this.persisting;
  }
}

function newActor(self: NodeId, incarnation: number, random: Random): string {
  let tag = incarnation.toString(36);
  for (let i = 0; i < TAG_RANDOM_CHARS; i++) tag += random.int(36).toString(36);
  return `${self}#${tag}`;
}

function decodeState(bytes: Uint8Array | undefined, logger: Logger | undefined): NodeIdentityState | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    const s = packr.unpack(bytes) as Partial<NodeIdentityState>;
    if (
      s?.format === 1 &&
      Number.isSafeInteger(s.incarnation) &&
      (s.incarnation as number) >= 1 &&
      typeof s.actor === 'string' &&
      s.actor.length > 0 &&
      typeof s.hlcCeilingMs === 'number' &&
      typeof s.running === 'boolean'
    ) {
      return s as NodeIdentityState;
    }
  } catch {
    // fall through: treated as no record, which only ever costs a fresh actor
  }
  logger?.warn({}, 'identity record unreadable: starting with a new identity');
  return undefined;
}
