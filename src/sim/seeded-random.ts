import type { Random } from '../cluster/runtime.js';

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, passes PractRand,
 * a handful of 32-bit integer ops per draw. Seeded through splitmix32 so nearby seeds (1, 2, 3…)
 * give unrelated streams.
 */
export class SeededRandom implements Random {
  /** the 32-bit seed this stream (or the root it was forked from) was built with */
  readonly seed: number;
  /** the fork path from the root, e.g. 'network/latency'; '' for the root */
  readonly label: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, label = '') {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.seed = seed >>> 0;
    this.label = label;
    let s = (this.seed ^ hashLabel(label)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // Discard the first outputs: sfc32 mixes its counter in over the first few rounds.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** uniform 32-bit unsigned integer */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`maxExclusive must be a positive integer, got ${maxExclusive}`);
    }
    return Math.floor(this.next() * maxExclusive);
  }

  /** uniform integer in [min, max] (both inclusive) */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** true with the given probability */
  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.int(items.length)];
  }

  /** exponentially distributed with the given mean (for latency tails and think times) */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /**
   * An independent stream derived from this stream's seed and label path only — not from how many
   * numbers were drawn — so adding draws in one subsystem never shifts another's. Forking the same
   * label twice gives the same stream: use distinct labels.
   */
  fork(label: string): SeededRandom {
    return new SeededRandom(this.seed, this.label === '' ? label : `${this.label}/${label}`);
  }
}

/** FNV-1a over the label's UTF-16 code units: cheap, stable, good enough to separate streams. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
