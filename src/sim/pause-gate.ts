/**
 * A simulated process pause (SIGSTOP, a long GC): while paused, none of the node's code runs — its
 * timers and the messages that reach it wait, as the kernel holds a stopped process's timers and
 * socket buffers. On resume, like a Node.js event loop after SIGCONT, the timers that came due run
 * first (in due order), then the held messages and replies are handled.
 *
 * Wrap the node's clock in PausableClock and its transport in PausableTransport, both with one gate;
 * give the SimNetwork the PausableClock (attach(id, clock)) so request timeouts wait too.
 */
import type { NodeId } from '../core/member.js';
import type { Clock, Message, RequestHandler, TimerHandle, Transport } from '../cluster/runtime.js';

export class PauseGate {
  private pausedNow = false;
  private heldTimers: Array<{ fn: () => void; cancelled: boolean }> = [];
  private waiters: Array<() => void> = [];
  private pauses = 0;

  get paused(): boolean {
    return this.pausedNow;
  }

  get pauseCount(): number {
    return this.pauses;
  }

  pause(): void {
    if (this.pausedNow) return;
    this.pausedNow = true;
    this.pauses++;
  }

  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    const timers = this.heldTimers;
    this.heldTimers = [];
    for (const t of timers) if (!t.cancelled) t.fn();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** resolves at once when running, else when resumed */
  whenAwake(): Promise<void> {
    if (!this.pausedNow) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** runs fn now, or holds it for resume; the returned flag object cancels a held run */
  runOrHold(fn: () => void): { cancelled: boolean } {
    const entry = { fn, cancelled: false };
    if (this.pausedNow) this.heldTimers.push(entry);
    else fn();
    return entry;
  }
}

export class PausableClock implements Clock {
  constructor(
    private readonly inner: Clock,
    private readonly gate: PauseGate,
  ) {}

  nowMs(): number {
    return this.inner.nowMs();
  }

  monotonicMs(): number {
    return this.inner.monotonicMs();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    let held: { cancelled: boolean } | undefined;
    let cancelled = false;
    const handle = this.inner.setTimer(delayMs, () => {
      if (!cancelled) held = this.gate.runOrHold(fn);
    });
    return {
      cancel: () => {
        cancelled = true;
        handle.cancel();
        if (held) held.cancelled = true;
      },
    };
  }
}

export class PausableTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly gate: PauseGate,
  ) {}

  get self(): NodeId {
    return this.inner.self;
  }

  request(to: NodeId, msg: Message, timeoutMs: number): Promise<Message> {
    return this.inner.request(to, msg, timeoutMs).then(
      (reply) => this.gate.whenAwake().then(() => reply),
      (e: unknown) =>
        this.gate.whenAwake().then(() => {
          throw e;
        }),
    );
  }

  send(to: NodeId, msg: Message): void {
    this.inner.send(to, msg);
  }

  onRequest(handler: RequestHandler): void {
    this.inner.onRequest((from, msg) => this.gate.whenAwake().then(() => handler(from, msg)));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
