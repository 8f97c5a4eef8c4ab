/** A set of elements stored as one value: element ids separated by spaces. */
export function encodeElements(elements: Iterable<string>): string {
  return [...elements].join(' ');
}

export function decodeElements(value: string | Buffer | Uint8Array): string[] {
  const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
  return text.split(' ').filter((e) => e.length > 0);
}

/** the union of the element sets of every sibling */
export function unionOfSiblings(siblings: Array<string | Buffer | Uint8Array>): string[] {
  const all = new Set<string>();
  for (const s of siblings) for (const e of decodeElements(s)) all.add(e);
  return [...all];
}
