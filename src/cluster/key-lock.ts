/**
 * Serialises read-merge-write per key inside one replica, so two merges of the same key never
 * interleave and lose a sibling. Chains promises per key; the map holds only keys with work queued.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** slots with work queued or running */
  activeSlots(): IterableIterator<string> {
    return this.tails.keys();
  }

  run<T>(slot: string, work: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(slot);
    // An idle key (the common case) starts its work at once instead of a microtask later.
    const next = prev === undefined ? start(work) : prev.then(work, work);
    this.tails.set(slot, next);
    const release = (): void => {
      if (this.tails.get(slot) === next) this.tails.delete(slot);
    };
    // the caller handles next's rejection; this only releases the key (and never rejects itself)
    next.then(release, release);
    return next;
  }
}

function start<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (e) {
    return Promise.reject(e);
  }
}
