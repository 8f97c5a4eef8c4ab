/**
 * How one node shows the whole cluster (the dashboard, `ringkv status`, `ringkv top`): it asks every
 * member's HTTP API for its /cluster/status, with a timeout, and puts the answers beside its own.
 *
 * One shared poll loop runs while anyone watches (dashboards on the live stream), once per interval
 * whatever the number of watchers, and every watcher gets the same serialised snapshot: ten open
 * dashboards cost the peers what one does.
 *
 * Down, today: membership is static (every configured member is `up` in the member table), so a
 * member is shown `down` when its status request fails — at once when its connection is refused
 * (nothing listens there), after downAfterFailures timeouts or other failures in a row otherwise.
 * When gossip lands, the member table's own status (up, suspect, down, leaving, left) takes over and
 * an unanswered status request only means the figures are missing; membership events then come from
 * gossip instead of from what this loop saw.
 */
import type { NodeStatus, RingSummary } from './node-status.js';

export interface MemberView {
  id: string;
  address: string;
  httpAddress: string | null;
  zone: string | null;
  /** what to show: the member table's status, or `down` when the member does not answer (see above) */
  status: string;
  /** the member table's word for it */
  membershipStatus: string;
  /** its status request answered (always true for the serving node) */
  reachable: boolean;
  /** why it did not answer, when it did not */
  error: string | null;
  /** when it last answered, epoch ms */
  lastSeenMs: number | null;
  /** its own status, when it answered */
  node: NodeStatus | null;
}

export interface MembershipEvent {
  timeMs: number;
  member: string;
  from: string | null;
  to: string;
  /** what saw it: `status-poll` (this node's status requests) until gossip provides events */
  source: string;
  detail?: string;
}

export interface ClusterOverview {
  servedBy: string;
  timeMs: number;
  pollIntervalMs: number;
  members: MemberView[];
  ring: RingSummary;
  events: MembershipEvent[];
}

export interface ClusterWatcherOptions {
  /** this node's status (with per-second history of the last `seriesSeconds`) */
  self(seriesSeconds: number): NodeStatus;
  /** sent as Bearer to peers: a cluster shares one password */
  password?: string;
  /** @default 1000 */
  intervalMs?: number;
  /** per status request @default 1500 */
  timeoutMs?: number;
  /** failures in a row (other than a refused connection) before a member shows down @default 2 */
  downAfterFailures?: number;
  /** seconds of history asked of each member on every poll, so a watcher can fill gaps @default 5 */
  pollSeriesSeconds?: number;
  /** events kept @default 200 */
  maxEvents?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

interface PeerState {
  failures: number;
  shown: string | undefined;
  lastSeenMs: number | null;
}

export type OverviewListener = (overview: ClusterOverview, json: string) => void;

export class ClusterWatcher {
  readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly downAfterFailures: number;
  private readonly pollSeriesSeconds: number;
  private readonly maxEvents: number;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly peers = new Map<string, PeerState>();
  private readonly events: MembershipEvent[] = [];
  private readonly listeners = new Set<OverviewListener>();
  private latest: { overview: ClusterOverview; json: string } | undefined;
  private inFlight: Promise<ClusterOverview> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: ClusterWatcherOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 1500;
    this.downAfterFailures = opts.downAfterFailures ?? 2;
    this.pollSeriesSeconds = opts.pollSeriesSeconds ?? 5;
    this.maxEvents = opts.maxEvents ?? 200;
    this.fetchFn = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  get watchers(): number {
    return this.listeners.size;
  }

  /** live snapshots, one per interval, until the returned function is called */
  subscribe(listener: OverviewListener): () => void {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest.overview, this.latest.json);
    if (this.listeners.size === 1) this.schedule(0);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  /**
   * A snapshot: the loop's latest when it is running and fresh, else a poll now (concurrent callers
   * share it). With seriesSeconds,
   * every member is asked for that much history (a one-off, for a page that just opened).
   */
  async overview(seriesSeconds?: number): Promise<ClusterOverview> {
    if (seriesSeconds !== undefined && seriesSeconds > this.pollSeriesSeconds) return this.poll(seriesSeconds, false);
    // while the loop runs (someone watches), its snapshot is at most an interval old; else ask now
    if (this.listeners.size > 0 && this.latest && this.now() - this.latest.overview.timeMs < 2 * this.intervalMs) return this.latest.overview;
    return this.pollOnce();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private pollOnce(): Promise<ClusterOverview> {
    this.inFlight ??= this.poll(this.pollSeriesSeconds, true).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      const started = this.now();
      this.pollOnce()
        .catch(() => undefined)
        .finally(() => this.schedule(Math.max(0, this.intervalMs - (this.now() - started))));
    }, delayMs);
  }

  private async poll(seriesSeconds: number, track: boolean): Promise<ClusterOverview> {
    const self = this.opts.self(seriesSeconds);
    const gossip = self.membership === 'gossip';
    const views = await Promise.all(self.members.map((m) => (m.id === self.node ? this.selfView(self, m) : this.peerView(m, seriesSeconds, gossip))));
    const overview: ClusterOverview = {
      servedBy: self.node,
      timeMs: this.now(),
      pollIntervalMs: this.intervalMs,
      members: views,
      ring: self.ring,
      events: this.events.slice(),
    };
    if (track) {
      const json = JSON.stringify(overview);
      this.latest = { overview, json };
      for (const listener of this.listeners) listener(overview, json);
    }
    return overview;
  }

  private selfView(self: NodeStatus, m: NodeStatus['members'][number]): MemberView {
    return { ...identityOf(m), status: m.status, membershipStatus: m.status, reachable: true, error: null, lastSeenMs: self.timeMs, node: self };
  }

  private async peerView(m: NodeStatus['members'][number], seriesSeconds: number, gossip: boolean): Promise<MemberView> {
    const state = this.peers.get(m.id) ?? { failures: 0, shown: undefined, lastSeenMs: null };
    this.peers.set(m.id, state);
    const answer = await this.ask(m.httpAddress, seriesSeconds);
    if (answer.alive) {
      state.failures = 0;
      state.lastSeenMs = this.now();
    } else {
      // a refused connection is certain (nothing listens); a timeout may be a busy node
      state.failures = answer.refused ? Math.max(state.failures + 1, this.downAfterFailures) : state.failures + 1;
    }
    // with gossip the member table decides; with a static list an unanswered status request does
    const shown = gossip || m.status !== 'up' ? m.status : state.failures >= this.downAfterFailures ? 'down' : 'up';
    if (state.shown !== undefined && state.shown !== shown) {
      this.recordEvent({ timeMs: this.now(), member: m.id, from: state.shown, to: shown, source: 'status-poll', ...(answer.error ? { detail: answer.error } : {}) });
    }
    state.shown = shown;
    return { ...identityOf(m), status: shown, membershipStatus: m.status, reachable: answer.node !== null, error: answer.error, lastSeenMs: state.lastSeenMs, node: answer.node };
  }

  /** one status request; alive = the member answered at all (even with an error status) */
  private async ask(httpAddress: string | null, seriesSeconds: number): Promise<{ node: NodeStatus | null; alive: boolean; refused: boolean; error: string | null }> {
    if (httpAddress === null) return { node: null, alive: false, refused: false, error: 'no HTTP address known for this member (give it in --peers as ?http=host:port)' };
    try {
      const res = await this.fetchFn(`http://${httpAddress}/cluster/status?series=${seriesSeconds}`, {
        headers: this.opts.password !== undefined ? { authorization: `Bearer ${this.opts.password}` } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const body = await res.text();
      if (res.status === 200) return { node: JSON.parse(body) as NodeStatus, alive: true, refused: false, error: null };
      const error = res.status === 401 ? "it refused this node's password (a cluster shares one password)" : `HTTP ${res.status} from its /cluster/status`;
      return { node: null, alive: true, refused: false, error };
    } catch (e) {
      const refused = (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      const error = refused ? 'connection refused' : (e as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e as Error).message;
      return { node: null, alive: false, refused, error };
    }
  }

  private recordEvent(e: MembershipEvent): void {
    this.events.push(e);
    if (this.events.length > this.maxEvents) this.events.shift();
  }
}

function identityOf(m: NodeStatus['members'][number]): Pick<MemberView, 'id' | 'address' | 'httpAddress' | 'zone'> {
  return { id: m.id, address: m.address, httpAddress: m.httpAddress, zone: m.zone };
}
