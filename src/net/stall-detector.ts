/**
 * Finds internode connections that stopped answering, so the transport can replace them.
 *
 * A TCP connection can survive a partition or heavy packet loss and still be stuck long after the
 * network heals: its unacknowledged segments wait for TCP's retransmission timer, which doubles per
 * loss (up to 2 min between tries, about 15 min before the kernel gives up), and keepalive does not
 * act while data is outstanding. A fresh connection has none of that backlog.
 *
 * Silence alone proves nothing (an idle peer sends nothing; a peer whose handler is slow sends
 * nothing either), so suspicion is followed by a probe the peer's transport answers itself, without
 * its request handler: a request of type STALL_PROBE_TYPE. A connection is suspected when
 *  - one of our requests on it timed out and nothing has arrived on it since, or
 *  - our requests have been waiting on it for stallTimeoutMs and nothing at all arrived meanwhile;
 * it is stalled when, after the probe, nothing at all (the probe's answer or any other frame) arrives
 * within probeTimeoutMs. An idle connection (nothing of ours waiting) is never probed.
 *
 * A peer of an older version answers the probe with an UNKNOWN_MESSAGE error — also an answer.
 */
import type { Message } from '../cluster/runtime.js';

/** the probe's request type; served by the transport itself, never by the cluster's handler */
export const STALL_PROBE_TYPE = '__transport_probe';
export const STALL_PROBE_REPLY: Message = { type: '__transport_probe_ok' };

/** with our requests waiting, this long without a byte from the peer makes us probe @default 1000 */
export const DEFAULT_STALL_TIMEOUT_MS = 1000;
/** a probe answered by nothing for this long means the connection is stalled @default 1000 */
export const DEFAULT_STALL_PROBE_TIMEOUT_MS = 1000;

/** what the detector reads of a connection (PeerConnection) */
export interface WatchedConnection {
  readonly closed: boolean;
  readonly handshakeDone: boolean;
  /** our requests on it waiting for a reply */
  readonly pendingCount: number;
  /** performance.now() of the last bytes received */
  readonly lastReceivedAtMs: number;
  /** performance.now() of the last request of ours that timed out on it (0: none) */
  readonly lastRequestTimeoutAtMs: number;
  /** bytes we queued that the kernel has not taken (the peer's receive window is shut when it grows) */
  readonly outboundBytes: number;
  request(message: Message, timeoutMs: number): Promise<Message>;
}

export interface StallDetectorOptions<C extends WatchedConnection> {
  stallTimeoutMs: number;
  probeTimeoutMs: number;
  /** the connections to watch, read at every check */
  connections: () => Iterable<C>;
  /** conn stopped answering; `why` is for logs and the errors of its requests in flight */
  onStalled: (conn: C, why: string) => void;
  onProbe: (conn: C) => void;
}

export class StallDetector<C extends WatchedConnection> {
  /** when a check first saw our requests waiting on the connection (reset when none wait) */
  private readonly waitingSince = new WeakMap<C, number>();
  private readonly probing = new WeakSet<C>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: StallDetectorOptions<C>) {}

  /** checks a few times per timeout, so a stall is acted on within about a quarter timeout of its deadline */
  get checkIntervalMs(): number {
    return Math.max(5, Math.min(this.options.stallTimeoutMs, this.options.probeTimeoutMs) / 4);
  }

  /** starts the periodic check (idempotent; the timer does not keep the process alive) */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.check(), this.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  check(nowMs = performance.now()): void {
    for (const conn of this.options.connections()) this.checkOne(conn, nowMs);
  }

  private checkOne(conn: C, nowMs: number): void {
    if (conn.closed || !conn.handshakeDone || this.probing.has(conn)) return;
    const timedOutUnheard = conn.lastRequestTimeoutAtMs > conn.lastReceivedAtMs;
    if (conn.pendingCount === 0 && !timedOutUnheard) {
      this.waitingSince.delete(conn);
      return;
    }
    let since = this.waitingSince.get(conn);
    if (since === undefined) {
      since = nowMs;
      this.waitingSince.set(conn, since);
    }
    const quietMs = nowMs - Math.max(since, conn.lastReceivedAtMs);
    if (timedOutUnheard || quietMs >= this.options.stallTimeoutMs) this.probe(conn, nowMs - conn.lastReceivedAtMs);
  }

  private probe(conn: C, silentMs: number): void {
    const sentAtMs = performance.now();
    const pendingBefore = conn.pendingCount;
    const answered = conn.request({ type: STALL_PROBE_TYPE }, this.options.probeTimeoutMs);
    const sent = conn.pendingCount > pendingBefore;
    if (!sent && conn.outboundBytes === 0) {
      // Refused unsent with nothing queued: too many of our requests wait (a slow handler can do
      // that); try again at a later check, once one has been answered or has timed out.
      answered.catch(() => undefined);
      return;
    }
    // Refused unsent with bytes in the send queue (send buffer full), the probe is judged as if sent:
    // stalled if by its deadline the peer has neither sent anything nor taken our bytes.
    this.probing.add(conn);
    this.options.onProbe(conn);
    const heardSince = (): boolean => conn.lastReceivedAtMs >= sentAtMs;
    const judge = (): void => {
      this.probing.delete(conn);
      if (this.stopped || conn.closed || heardSince() || (!sent && conn.outboundBytes === 0)) return;
      const silentNowMs = Math.round(performance.now() - conn.lastReceivedAtMs);
      this.options.onStalled(conn, `stopped answering: nothing received for ${silentNowMs} ms (${Math.round(silentMs)} ms before a probe, then ${this.options.probeTimeoutMs} ms without its answer)`);
    };
    // Any answer — a reply, an error from the peer — arrives as bytes and shows in lastReceivedAtMs.
    const settle = (): void => {
      const leftMs = sentAtMs + this.options.probeTimeoutMs - performance.now();
      if (leftMs <= 0 || conn.closed || heardSince()) judge();
      else setTimeout(judge, leftMs).unref();
    };
    answered.then(settle, settle);
  }
}
