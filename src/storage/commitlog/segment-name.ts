/**
 * Segment files are named `commitlog-<id>.log` with the id zero-padded to 12 digits, so that
 * lexicographic order is replay order. Ids start at 1 and only grow, also across restarts.
 */
const PATTERN = /^commitlog-(\d{12})\.log$/;

export function segmentFileName(segmentId: number): string {
  if (!Number.isSafeInteger(segmentId) || segmentId < 1 || segmentId > 999_999_999_999) {
    throw new RangeError(`commit log segment id out of range: ${segmentId}`);
  }
  return `commitlog-${String(segmentId).padStart(12, '0')}.log`;
}

/** The id of a segment file name, or undefined for any other name. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = PATTERN.exec(name);
  if (!m) return undefined;
  const id = Number(m[1]);
  return id >= 1 ? id : undefined;
}
