/**
 * Remembers the outcome of recently coordinated forwarded writes by their write id, so a
 * coordinate_write delivered twice (a duplicated message, or a retry after a lost reply) returns the
 * first outcome instead of minting a second version — which would duplicate a sibling or count an
 * increment twice. Bounded: the oldest ids are forgotten first.
 */
export class RecentWrites<T> {
  private readonly outcomes = new Map<string, Promise<T>>();

  constructor(private readonly capacity = 10_000) {}

  /** Runs `work` once per id while the id is remembered; later calls share the first outcome. */
  once(writeId: string, work: () => Promise<T>): Promise<T> {
    const known = this.outcomes.get(writeId);
    if (known) return known;
    const outcome = work();
    this.outcomes.set(writeId, outcome);
    if (this.outcomes.size > this.capacity) {
      const oldest = this.outcomes.keys().next().value;
      if (oldest !== undefined) this.outcomes.delete(oldest);
    }
    return outcome;
  }
}
