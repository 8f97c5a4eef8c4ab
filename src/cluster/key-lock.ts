/**
 * Serialises read-merge-write per key inside one replica, so two merges of the same key never
 * interleave and lose a sibling. Chains promises per key; the map holds only keys with work queued.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(slot: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(slot) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(slot, tail);
    void tail.then(() => {
      if (this.tails.get(slot) === tail) this.tails.delete(slot);
    });
    return next;
  }
}
