/**
 * A set of elements stored as one value: element ids separated by spaces. Element ids are a letter
 * and a sequence number (s17, r4), so the history writes a set compactly as runs: "s1..s40" stands
 * for s1, s2, …, s40. A read of a set with thousands of elements is then a few tokens, not a few
 * kilobytes.
 */
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

const NUMBERED = /^([a-z]*)(\d+)$/;

/** elements as sorted tokens, consecutive numbers of one prefix folded into "p<a>..p<b>" */
export function compactElements(elements: Iterable<string>): string[] {
  const byPrefix = new Map<string, number[]>();
  const other: string[] = [];
  for (const e of new Set(elements)) {
    const m = NUMBERED.exec(e);
    if (!m || e.includes('..')) other.push(e);
    else {
      const list = byPrefix.get(m[1]) ?? [];
      list.push(Number(m[2]));
      byPrefix.set(m[1], list);
    }
  }
  const out: string[] = [];
  for (const [prefix, nums] of [...byPrefix.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    nums.sort((a, b) => a - b);
    for (let i = 0; i < nums.length; ) {
      let j = i;
      while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
      out.push(j - i >= 2 ? `${prefix}${nums[i]}..${prefix}${nums[j]}` : nums.slice(i, j + 1).map((n) => `${prefix}${n}`).join(' '));
      i = j + 1;
    }
  }
  return [...out.flatMap((t) => t.split(' ')), ...other.sort()];
}

/** calls fn for every element the tokens stand for (plain elements and "p<a>..p<b>" runs) */
export function forEachElement(tokens: readonly string[], fn: (element: string) => void): void {
  for (const t of tokens) {
    const dots = t.indexOf('..');
    if (dots < 0) {
      fn(t);
      continue;
    }
    const a = NUMBERED.exec(t.slice(0, dots));
    const b = NUMBERED.exec(t.slice(dots + 2));
    if (!a || !b || a[1] !== b[1]) {
      fn(t);
      continue;
    }
    for (let n = Number(a[2]); n <= Number(b[2]); n++) fn(`${a[1]}${n}`);
  }
}

export function expandElements(tokens: readonly string[]): string[] {
  const out: string[] = [];
  forEachElement(tokens, (e) => out.push(e));
  return out;
}
