import { createHash, type Hash } from 'node:crypto';
import { SeededRandom } from './seeded-random.js';
import { DEFAULT_SIM_START_MS, VirtualClock } from './virtual-clock.js';

export interface SimulationOptions {
  /** 32-bit seed every random choice in the run derives from */
  seed: number;
  /** @default DEFAULT_SIM_START_MS */
  startMs?: number;
  /** events (timer firings) allowed in one run before it is declared runaway @default 2_000_000 */
  maxSteps?: number;
  /** receives one human-readable line per traced event (verbose replays); absent = silent */
  traceSink?: (line: string) => void;
}

/** Thrown when a run exceeds its step limit: a livelock or a timer storm, never a normal outcome. */
export class SimulationLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationLimitError';
  }
}

/** Lets every promise chain that the last event started run to completion before the next event. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The scheduler. Every event — a message arriving, a timer firing, a client's next operation — is a
 * timer on the one virtual clock; events run one at a time in (time, insertion) order, and after each
 * one all microtasks are drained. Cluster code is async, but with in-memory engines and the simulated
 * network everything it awaits resolves in microtasks, so this order is total and a seed replays the
 * run exactly.
 */
export class Simulation {
  readonly seed: number;
  readonly random: SeededRandom;
  readonly clock: VirtualClock;
  readonly maxSteps: number;
  /** the virtual epoch ms the run started at */
  readonly startMs: number;
  private stepsRun = 0;
  private readonly traceSink?: (line: string) => void;
  private readonly traceHash: Hash = createHash('sha256');
  private tracedEvents = 0;

  constructor(options: SimulationOptions) {
    this.seed = options.seed >>> 0;
    this.random = new SeededRandom(this.seed);
    this.startMs = options.startMs ?? DEFAULT_SIM_START_MS;
    this.clock = new VirtualClock(this.startMs);
    this.maxSteps = options.maxSteps ?? 2_000_000;
    this.traceSink = options.traceSink;
  }

  get steps(): number {
    return this.stepsRun;
  }

  /** virtual ms since the simulation started */
  get elapsedMs(): number {
    return this.clock.nowMs() - this.startMs;
  }

  /**
   * Adds one event to the run's trace: it goes into the trace digest (the determinism check compares
   * digests) and, in verbose mode, to the sink. Callers pass already-deterministic text.
   */
  trace(line: string): void {
    this.tracedEvents++;
    const stamped = `[${this.elapsedMs}ms] ${line}`;
    this.traceHash.update(stamped);
    this.traceHash.update('\n');
    this.traceSink?.(stamped);
  }

  get verbose(): boolean {
    return this.traceSink !== undefined;
  }

  /** sha256 over every traced line so far (hex) */
  traceDigest(): string {
    return this.traceHash.copy().digest('hex');
  }

  get tracedEventCount(): number {
    return this.tracedEvents;
  }

  /** lets pending microtasks run without advancing time */
  async settle(): Promise<void> {
    await drainMicrotasks();
  }

  /**
   * Runs the next event due at or before limitMs, then drains microtasks. Returns false when nothing
   * is due by then.
   */
  async step(limitMs = Infinity): Promise<boolean> {
    if (this.stepsRun >= this.maxSteps) {
      throw new SimulationLimitError(
        `seed ${this.seed}: more than ${this.maxSteps} events at virtual ${this.elapsedMs}ms (livelock or timer storm?)`,
      );
    }
    let fired: boolean;
    try {
      fired = this.clock.fireNext(limitMs);
    } catch (e) {
      throw new Error(`seed ${this.seed}: an event at virtual ${this.elapsedMs}ms threw: ${(e as Error)?.message ?? e}`, { cause: e });
    }
    if (!fired) return false;
    this.stepsRun++;
    await drainMicrotasks();
    return true;
  }

  /** runs every event due in the next ms milliseconds; time ends exactly ms later */
  async runFor(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`runFor needs ms >= 0, got ${ms}`);
    const until = this.clock.nowMs() + ms;
    await this.settle();
    while (await this.step(until)) {
      // keep going
    }
    this.advanceIdleTo(until);
  }

  /**
   * Runs events until predicate() holds (checked before the first event and after each one) or
   * maxMs of virtual time pass. Returns whether the predicate held.
   */
  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    if (!(maxMs >= 0)) throw new RangeError(`runUntil needs maxMs >= 0, got ${maxMs}`);
    const until = this.clock.nowMs() + maxMs;
    await this.settle();
    if (predicate()) return true;
    while (await this.step(until)) {
      if (predicate()) return true;
    }
    this.advanceIdleTo(until);
    return predicate();
  }

  private advanceIdleTo(atMs: number): void {
    if (atMs > this.clock.nowMs()) this.clock.advanceTo(atMs);
  }
}
