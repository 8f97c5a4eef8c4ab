/**
 * A node's membership: the gossiped member table, the failure detector, the ring epochs and the
 * claimant, over the injected Clock, Random and Transport (messages through the MessageRouter).
 *
 * Every gossipIntervalMs the node raises its heartbeat, sends it straight to the k members that watch
 * it (watch-ring.ts), and runs a push-pull digest exchange with a random live peer (now and then also
 * an unreachable node or a seed). A member whose phi passes the threshold (failure-detectors.ts) is
 * marked `suspect` and probed directly and through k helpers; it is marked `down` only if that whole
 * round goes unanswered and nothing newer was heard from it meanwhile. Status changes and new rings
 * are also pushed at once to a few peers (rumors), so they reach everyone within a round trip or two
 * instead of O(log n) rounds.
 *
 * The node's own row is written only here: a node that sees itself suspected or marked down refutes
 * with a higher heartbeat (a higher incarnation when a peer knows a later one), a node that sees itself
 * removed stops, and a graceful stop announces `down` so peers need not wait for the detector. A
 * paused node does not count its own pause as everyone else's silence (stall guard).
 */
import { RingkvError } from '../../core/errors.js';
import type { Member, NodeId } from '../../core/member.js';
import { ringReadiness, type Readiness } from '../../core/membership/claimant.js';
import { isLive, isNewerLife, versionOf, withOptional, type MemberEntry, type MemberStatus } from '../../core/membership/member-entry.js';
import { DIGEST_STRIDE, type Digest } from '../../core/membership/digest.js';
import { MemberTable } from '../../core/membership/member-table.js';
import { removalOfKnownLife } from '../../core/membership/removal.js';
import { WatchRing } from '../../core/membership/watch-ring.js';
import { compareRingVersions, encodeRingEpoch, epochFingerprint, ringVersion, type RingEpoch } from '../../core/membership/ring-epoch.js';
import { judgeRowAboutSelf } from '../../core/membership/self-row.js';
import type { MessageRouter } from '../message-router.js';
import { silentLogger, type Logger, type Message, type TimerHandle } from '../runtime.js';
import { gossipConfig, type GossipConfig } from './gossip-config.js';
import { GOSSIP_TYPES, gossipCodec, type GossipCodec } from './gossip-messages.js';
import { FailureDetectors } from './failure-detectors.js';
import { MembershipPersister, decodeMembership, encodeMembership } from './membership-store.js';
import { pickDistinct, pickGossipTargets } from './peer-selection.js';
import { Prober, isRefusal } from './prober.js';
import { Suspicion, type SuspicionCounters } from './suspicion.js';
import type { MemberView, MembershipCounters, MembershipEvent, MembershipOptions } from './membership-types.js';
import { RingKeeper } from './ring-keeper.js';
import { StallGuard } from './stall-guard.js';

export type { MemberView, MembershipCounters, MembershipEvent, MembershipOptions, SelfDescription } from './membership-types.js';

/** Why a change is significant enough to rumor and to persist (not heartbeat-only). */
function materialChange(previous: MemberEntry | undefined, current: MemberEntry): boolean {
  return (
    previous === undefined ||
    previous.status !== current.status ||
    previous.incarnation !== current.incarnation ||
    previous.address !== current.address ||
    previous.httpAddress !== current.httpAddress ||
    previous.zone !== current.zone ||
    previous.weight !== current.weight
  );
}

export class Membership {
  readonly self: NodeId;
  readonly config: GossipConfig;
  private readonly table = new MemberTable();
  private readonly detectors: FailureDetectors;
  /** the watch ring, rebuilt when the set of members not down or left changes */
  private watchRingCache: WatchRing | undefined;
  private readonly suspicion: Suspicion;
  /** internode address → the member last seen at it (duplicate-address check) */
  private readonly addressHolder = new Map<string, NodeId>();
  /**
   * per member, the highest incarnation of a `left` row this node has held or received: a later life
   * known before a removal arrives is the removed one, a life heard of after it may be a new one (removal.ts)
   */
  private readonly removalsSeen = new Map<NodeId, number>();
  private readonly listeners = new Set<(e: MembershipEvent) => void>();
  private readonly codec: GossipCodec;
  private readonly prober: Prober;
  private readonly logger: Logger;
  private readonly seeds: NodeId[];
  private readonly persister: MembershipPersister | undefined;
  private readonly rings: RingKeeper;
  private timer: TimerHandle | undefined;
  private checkTimer: TimerHandle | undefined;
  private stallGuard: StallGuard;
  private running = false;
  private stopped = false;
  /** member-table changes not yet written (written at most every persistIntervalMs) */
  private dirty = false;
  /** a change to write at the next chance: a new ring, this node's own status */
  private urgent = false;
  private lastPersistMs = -Infinity;
  /** this node's incarnation in the record it started from (undefined: no record, a fresh data directory) */
  private readonly recordIncarnation: number | undefined;
  private readonly stats: Omit<MembershipCounters, keyof SuspicionCounters> = {
    exchanges: 0,
    exchangeFailures: 0,
    refusedReplies: 0,
    refutations: 0,
    stalls: 0,
    rumorsSent: 0,
    ringsInstalled: 0,
    ringsCommitted: 0,
    ringsRefused: 0,
    conflicts: 0,
  };

  /** Reads the stored table and ring history (if any), then builds the membership; call start() next. */
  static async open(options: MembershipOptions): Promise<Membership> {
    const config = gossipConfig(options.config);
    const logger = options.logger ?? silentLogger;
    const stored = options.store ? decodeMembership(await options.store.read(), config.clusterName, logger) : undefined;
    return new Membership(options, config, stored?.entries ?? [], stored?.rings ?? []);
  }

  private constructor(
    private readonly options: MembershipOptions,
    config: GossipConfig,
    storedEntries: readonly MemberEntry[],
    storedRings: readonly RingEpoch[],
  ) {
    const { self } = options;
    if (!Number.isSafeInteger(options.incarnation) || options.incarnation < 1) {
      throw new RingkvError('BAD_PARAMETER', `incarnation must be an integer >= 1, got ${options.incarnation}`);
    }
    this.self = self.id;
    this.config = config;
    this.logger = options.logger ?? silentLogger;
    this.codec = gossipCodec(config.clusterName);
    this.prober = new Prober(options.transport, this.codec);
    this.detectors = new FailureDetectors(config);
    this.suspicion = new Suspicion(
      {
        self: self.id,
        row: (id) => this.table.get(id),
        livePeers: () => this.livePeers(),
        running: () => this.running,
        decide: (row) => this.applyLocal(row),
        answered: (id, entry) => this.absorb(id, [entry], undefined),
      },
      config,
      this.detectors,
      this.prober,
      options.clock,
      options.random,
      this.logger,
    );
    this.seeds = [...new Set(options.seeds ?? [])].filter((id) => id !== self.id);
    const now = options.clock.nowMs();

    const storedSelf = storedEntries.find((e) => e.id === self.id);
    if (storedSelf?.status === 'left') {
      throw new RingkvError(
        'BAD_PARAMETER',
        `node ${self.id} was removed from cluster ${config.clusterName} (its membership record says left): it cannot rejoin with its old data; start it with an empty data directory`,
      );
    }
    // Members known from disk or configuration are up until the detector convicts them.
    for (const e of storedEntries) {
      if (e.id === self.id) continue;
      this.table.replace(e.status === 'suspect' || e.status === 'down' ? { ...e, status: 'up' } : e);
      this.noteRemoval(e);
    }
    for (const m of options.knownMembers ?? []) {
      if (m.id === self.id || this.table.has(m.id)) continue;
      this.table.replace(placeholderRow(m));
    }
    for (const e of this.table.entries()) if (e.status !== 'left') this.detectors.restart(e.id, now, config.watchGraceMs);

    this.rings = new RingKeeper(options.partitions, config.ringHistoryLength, storedRings);
    const bootstrap = options.bootstrapRing ?? (options.knownMembers !== undefined && options.knownMembers.length > 0);
    if (bootstrap && this.rings.bootstrap([self, ...(options.knownMembers ?? []).filter((m) => m.id !== self.id)], options.firstRing)) this.urgent = true;
    this.stallGuard = new StallGuard(config.stallThresholdMs, config.detectorCheckMs, now);
    this.recordIncarnation = storedSelf?.incarnation;
    const incarnation = Math.max(options.incarnation, (storedSelf?.incarnation ?? 0) + 1);
    this.table.replace(
      withOptional(
        {
          id: self.id,
          address: self.address,
          weight: self.weight,
          incarnation,
          heartbeat: 1,
          // an operator's leave outlives a restart of the leaving node: it goes on handing its partitions away
          status: storedSelf?.status === 'leaving' ? 'leaving' : 'up',
          ringEpoch: this.rings.current?.epoch ?? 0,
          ringFingerprint: this.rings.current ? epochFingerprint(this.rings.current) : '',
          transfersDone: 0,
        },
        self.httpAddress,
        self.zone,
      ),
    );
    this.persister = options.store ? new MembershipPersister(options.store, () => this.snapshot(), this.logger) : undefined;
    this.registerRoutes(options.router);
  }

  // ---- views ----------------------------------------------------------------------------------

  /** this node's own row */
  get selfRow(): MemberEntry {
    return this.table.get(this.self)!;
  }

  row(id: NodeId): MemberEntry | undefined {
    return this.table.get(id);
  }

  rows(): MemberEntry[] {
    return this.table.entries();
  }

  statusOf(id: NodeId): MemberStatus | undefined {
    return this.table.get(id)?.status;
  }

  /** this node's suspicion of a member: the higher of its direct and gossip detectors' phi */
  phi(id: NodeId): number {
    if (id === this.self) return 0;
    return this.detectors.phi(id, this.options.clock.nowMs());
  }

  /** members this node watches through direct heartbeats */
  watching(): NodeId[] {
    return this.detectors.watched().sort();
  }

  /** /cluster/members: every known member, sorted by id */
  members(): MemberView[] {
    return this.table.entries().map((e) => ({
      id: e.id,
      address: e.address,
      httpAddress: e.httpAddress ?? null,
      zone: e.zone ?? null,
      weight: e.weight,
      status: e.status,
      phi: roundPhi(this.phi(e.id)),
      heartbeat: e.heartbeat,
      incarnation: e.incarnation,
    }));
  }

  /** the installed ring (undefined until a joining node has heard one) */
  ring(): RingEpoch | undefined {
    return this.rings.current;
  }

  /** installed rings, oldest first (the last is ring()) */
  ringEpochs(): readonly RingEpoch[] {
    return this.rings.history;
  }

  claimant(): NodeId | undefined {
    return this.rings.claimant(this.table);
  }

  readiness(): Readiness | undefined {
    const current = this.rings.current;
    return current === undefined ? undefined : ringReadiness(current, this.table);
  }

  /** members believed running (up, leaving, suspect), without this node */
  livePeers(): NodeId[] {
    const out: NodeId[] = [];
    for (const e of this.table.values()) if (e.id !== this.self && isLive(e.status)) out.push(e.id);
    return out;
  }

  onEvent(listener: (e: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get counters(): MembershipCounters {
    return { ...this.stats, ...this.suspicion.counters };
  }

  get probeCounters() {
    return { ...this.prober.counters };
  }

  get persistedWrites(): number {
    return this.persister?.writeCount ?? 0;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Starts the gossip rounds (the first after a random fraction of an interval, so nodes do not tick in step). */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.stallGuard = new StallGuard(this.config.stallThresholdMs, this.config.detectorCheckMs, this.options.clock.nowMs());
    const first = this.options.random.int(Math.max(1, Math.floor(this.config.gossipIntervalMs)));
    this.schedule(first);
    this.scheduleCheck();
    this.logger.info({ incarnation: this.selfRow.incarnation, members: this.table.size, ringEpoch: this.rings.current?.epoch ?? 0 }, 'membership started');
  }

  /**
   * Stops gossiping. With announce (the default: a graceful stop), first marks itself down and pushes
   * that to a few live peers, waiting at most announceTimeoutMs for them to take it. Persists last.
   */
  async stop(options: { announce?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    const announce = options.announce ?? true;
    this.running = false;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.checkTimer?.cancel();
    this.checkTimer = undefined;
    if (announce && this.selfRow.status !== 'left') {
      this.updateSelf({ status: 'down' });
      const peers = pickDistinct(this.livePeers(), Math.max(1, this.config.rumorFanout), this.options.random);
      const msg = this.codec.rows(GOSSIP_TYPES.push, { entries: [this.selfRow] });
      await Promise.allSettled(peers.map((p) => this.options.transport.request(p, msg, this.config.announceTimeoutMs)));
      this.stats.rumorsSent += peers.length;
    }
    if (this.persister) await this.persister.request();
  }

  /** Starts a graceful leave: the node's row says `leaving` (the claimant plans its partitions away). */
  leave(): void {
    if (this.selfRow.status === 'left') return;
    this.updateSelf({ status: 'leaving' });
    this.rumor([this.selfRow], undefined);
    this.flush(); // written now, not at the next round: a crash must not forget the leave
  }

  /** The end of a leave (no ring holds the node): its row says `left`; it only follows the ring from then on (its partitions drain), until stopped. */
  left(): void {
    this.updateSelf({ status: 'left' });
    this.rumor([this.selfRow], undefined);
  }

  /**
   * An operator's remove of another member (normally a dead one): its row becomes `left` at the
   * incarnation the table knows, which it cannot heartbeat its way out of, and the claimant takes it
   * off the ring. Throws BAD_PARAMETER for this node itself or an unknown member.
   */
  remove(id: NodeId): void {
    if (id === this.self) throw new RingkvError('BAD_PARAMETER', `node ${id} cannot remove itself: use leave`);
    const row = this.table.get(id);
    if (row === undefined) throw new RingkvError('BAD_PARAMETER', `no member ${id}`);
    if (row.status === 'left') return;
    this.applyLocal({ ...row, status: 'left' });
  }

  // ---- the round ------------------------------------------------------------------------------

  private schedule(delayMs: number): void {
    this.timer = this.options.clock.setTimer(delayMs, () => this.tick());
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.options.clock.nowMs();
    this.noteTimerRun(now);
    this.schedule(this.config.gossipIntervalMs);
    if (this.selfRow.status === 'left') {
      // A member that left still follows the ring — one exchange a round; no heartbeat, suspicion or
      // claimant: the partitions it handed away drain after it left (handed off to their replicas,
      // then dropped), and a ring changed again meanwhile must not leave it handing them off for
      // ever to members that no longer replicate them.
      const [peer] = this.gossipTargets();
      if (peer !== undefined) void this.exchange(peer);
      this.flush();
      return;
    }
    this.updateSelf({});
    this.sendHeartbeats(now);
    this.suspicion.check([...this.table.values()].map((e) => e.id), now);
    const targets = this.gossipTargets();
    for (const peer of targets) void this.exchange(peer);
    if (this.config.claimantCommits) this.claimantStep();
    this.flush();
  }

  /** Writes the record: at once after a new ring or an own status change, else at most every persistIntervalMs. */
  private flush(): void {
    if (!this.persister || !(this.urgent || this.dirty)) return;
    const now = this.options.clock.nowMs();
    if (!this.urgent && now - this.lastPersistMs < this.config.persistIntervalMs) return;
    this.urgent = false;
    this.dirty = false;
    this.lastPersistMs = now;
    void this.persister.request();
  }

  /** Called first by every timer callback: a stall of this node is not its peers' silence. */
  private noteTimerRun(now: number): void {
    const stalledMs = this.stallGuard.ran(now);
    if (stalledMs <= 0) return;
    this.stats.stalls++;
    this.detectors.discount(stalledMs);
    this.logger.warn({ stalledMs }, 'membership: this node was stalled; not counting it against peers');
  }

  /** Detector checks between rounds: only the directly watched members need the finer grain. */
  private scheduleCheck(): void {
    this.checkTimer = this.options.clock.setTimer(this.config.detectorCheckMs, () => {
      if (!this.running) return;
      this.noteTimerRun(this.options.clock.nowMs());
      this.scheduleCheck();
      if (this.selfRow.status !== 'left') this.suspicion.check(this.detectors.watched(), this.options.clock.nowMs());
    });
  }

  private watchRing(): WatchRing {
    if (this.watchRingCache === undefined) {
      const ids: NodeId[] = [];
      for (const e of this.table.values()) if (e.status !== 'down' && e.status !== 'left') ids.push(e.id);
      this.watchRingCache = new WatchRing(ids);
    }
    return this.watchRingCache;
  }

  /** This node's heartbeat straight to its watchers; and who this node watches now. */
  private sendHeartbeats(now: number): void {
    const ring = this.watchRing();
    const k = this.config.watchersPerNode;
    this.detectors.setWatched(ring.watchedBy(this.self, k), now);
    const msg = this.codec.rows(GOSSIP_TYPES.heartbeat, { entries: [this.selfRow] });
    for (const w of ring.watchersOf(this.self, k)) this.options.transport.send(w, msg);
  }

  private gossipTargets(): NodeId[] {
    const live: NodeId[] = [];
    const unreachable: NodeId[] = [];
    for (const e of this.table.values()) {
      if (e.id === this.self) continue;
      if (isLive(e.status)) live.push(e.id);
      else if (e.status === 'down') unreachable.push(e.id);
    }
    return pickGossipTargets({ live, unreachable, seeds: this.seeds }, this.options.random);
  }

  private async exchange(peer: NodeId): Promise<void> {
    this.stats.exchanges++;
    const syn = this.codec.syn({ digest: this.table.digest(), ring: this.rings.version() });
    let reply: Message;
    try {
      reply = await this.options.transport.request(peer, syn, this.config.exchangeTimeoutMs);
    } catch (e) {
      this.stats.exchangeFailures++;
      if (e instanceof RingkvError && e.code === 'CLUSTER_MISMATCH') this.refusedReply(peer, e);
      return;
    }
    if (!this.running) return;
    let ack;
    try {
      ack = this.codec.parseAck(reply);
    } catch (e) {
      this.refusedReply(peer, e);
      return;
    }
    this.absorb(peer, ack.entries, ack.ring);
    const current = this.rings.current;
    if (ack.requests.length > 0 || (ack.wantRing && current !== undefined)) {
      const ring = ack.wantRing && current !== undefined ? encodeRingEpoch(current) : undefined;
      this.options.transport.send(peer, this.codec.rows(GOSSIP_TYPES.ack2, { entries: this.table.rowsFor(ack.requests), ring }));
    }
  }

  private refusedReply(peer: NodeId, e: unknown): void {
    this.stats.refusedReplies++;
    const err = e instanceof RingkvError ? e : new RingkvError('MALFORMED_REQUEST', String(e));
    this.options.router.refuse(peer, 'gossip reply', err);
  }

  // ---- handlers -------------------------------------------------------------------------------

  private registerRoutes(router: MessageRouter): void {
    const c = this.codec;
    router.register(GOSSIP_TYPES.syn, c.parseSyn, (from, msg) => {
      const delta = this.table.deltaFor(msg.digest);
      const notice = this.removalNotice(from, msg.digest);
      if (notice !== undefined) delta.entries.push(notice);
      const current = this.rings.current;
      const order = current === undefined ? -1 : compareRingVersions(ringVersion(current), msg.ring);
      return c.ack({
        entries: delta.entries,
        requests: delta.requests,
        ring: order > 0 ? encodeRingEpoch(current!) : undefined,
        wantRing: order < 0 && msg.ring.epoch > 0,
      });
    });
    router.register(GOSSIP_TYPES.ack2, c.parseRows, (from, msg) => {
      this.absorb(from, msg.entries, msg.ring);
      return c.pushOk();
    });
    router.register(GOSSIP_TYPES.heartbeat, c.parseRows, (from, msg) => {
      this.absorb(from, msg.entries, undefined);
      if (msg.entries.some((e) => e.id === from)) this.detectors.directArrival(from, this.options.clock.nowMs());
      return c.pushOk();
    });
    router.register(GOSSIP_TYPES.push, c.parseRows, (from, msg) => {
      this.absorb(from, msg.entries, msg.ring);
      return c.pushOk();
    });
    router.register(GOSSIP_TYPES.ping, c.parsePing, () => {
      // A fresh heartbeat in the answer: the prober's merge of it refutes the suspicion everywhere.
      if (this.selfRow.status !== 'left') this.updateSelf({});
      return c.pong(this.selfRow);
    });
    router.register(GOSSIP_TYPES.pingReq, c.parsePingReq, async (from, msg) => {
      const timeoutMs = Math.min(msg.timeoutMs, this.config.probeTimeoutMs);
      try {
        const entry = c.parsePong(await this.options.transport.request(msg.target, c.ping(), timeoutMs));
        if (entry.id !== msg.target) return c.pingReqOk({ ok: false });
        this.absorb(msg.target, [entry], undefined);
        return c.pingReqOk({ ok: true, entry });
      } catch (e) {
        return c.pingReqOk({ ok: false, refused: isRefusal(e) });
      }
    });
  }

  // ---- merging --------------------------------------------------------------------------------

  /** Merges rows (and a ring) a peer sent; pushes what was news here on to a few peers. */
  private absorb(from: NodeId, entries: readonly MemberEntry[], ring: RingEpoch | undefined): void {
    const news: MemberEntry[] = [];
    for (const e of entries) {
      if (e.id === this.self) {
        if (this.absorbAboutSelf(from, e)) news.push(this.selfRow);
        continue;
      }
      const removal = removalOfKnownLife(this.table.get(e.id), e, this.removalsSeen.get(e.id));
      if (removal !== undefined) {
        this.logger.warn({ from, id: e.id, removedIncarnation: e.incarnation, knownIncarnation: removal.incarnation }, 'membership: a removal of an earlier life reached this node; it applies to the life known here');
        this.applyLocal(removal);
        continue;
      }
      const previous = this.mergeRow(e, from);
      // Status changes travel as rumors; new members and address changes ride the periodic rounds
      // (a bootstrap of n nodes would otherwise push n rows to every node).
      if (previous !== undefined && previous.status !== e.status && this.table.get(e.id) === e) news.push(e);
    }
    const ringNews = ring !== undefined && this.offerRing(ring, from) ? ring : undefined;
    if (news.length > 0 || ringNews !== undefined) this.rumor(news, ringNews, from);
  }

  /**
   * The removal of an earlier incarnation of `from`, when its digest shows a later one: a node that
   * restarts on the data of a removed node learns it before its new row replaces the removal here.
   */
  private removalNotice(from: NodeId, digest: Digest): MemberEntry | undefined {
    const mine = this.table.get(from);
    if (mine?.status !== 'left') return undefined;
    for (let i = 0; i < digest.length; i += DIGEST_STRIDE) {
      if (digest[i] === from) return (digest[i + 1] as number) > mine.incarnation ? mine : undefined;
    }
    return undefined;
  }

  /**
   * Merges a row about another member (`from`: the peer that sent it, if any); returns the row it
   * replaced when the change was material.
   */
  private mergeRow(e: MemberEntry, from?: NodeId): MemberEntry | undefined {
    this.noteRemoval(e);
    const result = this.table.merge(e);
    if (!result.changed) return undefined;
    const previous = result.previous;
    if (previous?.status === 'left' && e.incarnation > previous.incarnation && this.running) {
      // the same notice for a restarted node first heard through other paths (its heartbeats), and for
      // the peer that told of the later life: if it knew that life before the removal, the removal is
      // of that life (removal.ts) — so a removal whose rumors all missed the nodes that knew it is not lost
      const notice = this.codec.rows(GOSSIP_TYPES.push, { entries: [previous] });
      this.options.transport.send(e.id, notice);
      if (from !== undefined && from !== e.id) this.options.transport.send(from, notice);
    }
    const now = this.options.clock.nowMs();
    if (previous === undefined || e.incarnation !== previous.incarnation) {
      this.detectors.restart(e.id, now, previous === undefined ? this.config.watchGraceMs : 0);
    } else if (isNewerLife(versionOf(previous), versionOf(e))) {
      this.detectors.gossipArrival(e.id, now);
    }
    if (e.status === 'left') this.detectors.forget(e.id);
    if (!materialChange(previous, e)) return undefined;
    if (previous === undefined || previous.status !== e.status) this.watchRingCache = undefined;
    if (previous === undefined || previous.address !== e.address) this.checkDuplicateAddress(e);
    this.dirty = true;
    this.emit({ kind: 'member', id: e.id, previous, current: e });
    return previous;
  }

  private noteRemoval(e: MemberEntry): void {
    if (e.status === 'left' && e.incarnation >= (this.removalsSeen.get(e.id) ?? -1)) this.removalsSeen.set(e.id, e.incarnation);
  }

  /** A row about this node from elsewhere (self-row.ts decides); true when the own row changed. */
  private absorbAboutSelf(from: NodeId, e: MemberEntry): boolean {
    const mine = this.selfRow;
    const verdict = judgeRowAboutSelf(mine, e, this.recordIncarnation);
    switch (verdict.kind) {
      case 'ignore':
        return false;
      case 'conflict':
        this.stats.conflicts++;
        this.logger.error({ from, id: e.id, theirAddress: e.address, ourAddress: mine.address }, 'duplicate node id: another node gossips this id with another address');
        return false;
      case 'new-incarnation':
        this.stats.refutations++;
        this.logger.warn({ from, seen: e.incarnation }, 'membership: a peer knows a later incarnation of this node; taking a newer one');
        this.table.replace(verdict.row);
        this.urgent = true;
        return true;
      case 'refute':
        this.stats.refutations++;
        this.table.replace(verdict.row);
        return true;
      case 'removed':
        this.table.replace(verdict.row);
        this.urgent = true;
        this.logger.error({ from, removedIncarnation: e.incarnation }, 'membership: this node was removed from the cluster; it must not serve its data');
        this.emit({ kind: 'member', id: this.self, previous: mine, current: verdict.row });
        this.emit({ kind: 'removed' });
        this.flush();
        return true;
    }
  }

  /** Two live members heard from (not configuration placeholders) at one address: logged, counted. */
  private checkDuplicateAddress(e: MemberEntry): void {
    const holder = this.addressHolder.get(e.address);
    this.addressHolder.set(e.address, e.id);
    if (holder === undefined || holder === e.id || e.incarnation === 0) return;
    const other = this.table.get(holder);
    if (other === undefined || other.address !== e.address || other.incarnation === 0 || !isLive(other.status) || !isLive(e.status)) return;
    this.stats.conflicts++;
    this.logger.error({ ids: [holder, e.id], address: e.address }, 'duplicate address: two members gossip the same internode address');
  }

  /** A status this node decides about another member (suspect, down, left); rumored at once. */
  private applyLocal(e: MemberEntry): void {
    if (this.mergeRow(e) !== undefined) this.rumor([this.table.get(e.id)!], undefined);
  }

  private updateSelf(change: Partial<Pick<MemberEntry, 'status' | 'ringEpoch' | 'ringFingerprint' | 'transfersDone'>>): void {
    const previous = this.selfRow;
    const current = { ...previous, ...change, heartbeat: previous.heartbeat + 1 };
    this.table.replace(current);
    if (materialChange(previous, current)) {
      this.urgent = true;
      this.emit({ kind: 'member', id: this.self, previous, current });
    }
  }

  // ---- rumors ---------------------------------------------------------------------------------

  /** Pushes rows (and a ring) to rumorFanout random live peers other than `except`. */
  private rumor(entries: MemberEntry[], ring: RingEpoch | undefined, except?: NodeId): void {
    if (this.config.rumorFanout === 0 || !this.running) return;
    const peers = pickDistinct(this.livePeers(), this.config.rumorFanout, this.options.random, new Set(except === undefined ? [] : [except]));
    if (peers.length === 0) return;
    const msg = this.codec.rows(GOSSIP_TYPES.push, { entries, ring: ring === undefined ? undefined : encodeRingEpoch(ring) });
    for (const p of peers) this.options.transport.send(p, msg);
    this.stats.rumorsSent += peers.length;
  }

  // ---- rings and the claimant ------------------------------------------------------------------

  /** Installs ring if it is newer than the installed one (the same resolution everywhere); true if so. */
  private offerRing(ring: RingEpoch, from: NodeId): boolean {
    const offer = this.rings.judge(ring);
    if (offer === 'wrong-partitions') {
      this.stats.ringsRefused++;
      this.logger.error(
        { from, partitions: ring.ring.partitions, configured: this.options.partitions },
        'membership: refused a ring with another partition count (the cluster and this node disagree on Q)',
      );
    }
    if (offer !== 'newer') return false;
    this.install(ring);
    return true;
  }

  private install(ring: RingEpoch): void {
    const previous = this.rings.install(ring);
    this.stats.ringsInstalled++;
    this.urgent = true;
    this.updateSelf({ ringEpoch: ring.epoch, ringFingerprint: epochFingerprint(ring) });
    this.logger.info({ epoch: ring.epoch, claimant: ring.claimant, members: ring.ring.nodeIds.length }, 'membership: ring installed');
    this.emit({ kind: 'ring', previous, current: ring });
  }

  /**
   * Tells the cluster this node has finished every inbound partition transfer of the pending ring of
   * `epoch` (the claimant flips ownership once every receiver has).
   */
  reportTransfersDone(epoch: number): void {
    if (this.selfRow.transfersDone >= epoch) return;
    this.updateSelf({ transfersDone: epoch });
    this.rumor([this.selfRow], undefined);
  }

  /** When this node is the claimant and the ring is ready, commits the planned member set as the next epoch. */
  private claimantStep(): void {
    const next = this.rings.nextCommit(this.self, this.table, this.config.replicationFactor);
    if (next === undefined) return;
    this.stats.ringsCommitted++;
    this.logger.info({ epoch: next.epoch, members: next.ring.nodeIds }, 'membership: claimant committed a ring change');
    this.install(next);
    this.rumor([this.selfRow], next);
  }

  // ---- persistence and events ------------------------------------------------------------------

  private snapshot(): Uint8Array {
    return encodeMembership(this.config.clusterName, { entries: this.table.entries(), rings: [...this.rings.history] });
  }

  private emit(e: MembershipEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.error({ err: (err as Error)?.message ?? String(err), kind: e.kind }, 'membership listener failed');
      }
    }
  }
}

function placeholderRow(m: Member): MemberEntry {
  return withOptional(
    { id: m.id, address: m.address, weight: m.weight, incarnation: 0, heartbeat: 0, status: 'up', ringEpoch: 0, ringFingerprint: '', transfersDone: 0 },
    m.httpAddress,
    m.zone,
  );
}

function roundPhi(phi: number): number {
  return Number.isFinite(phi) ? Math.round(phi * 100) / 100 : 1e9;
}
