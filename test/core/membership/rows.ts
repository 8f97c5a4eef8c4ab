/** Member rows for the membership tests: a builder with defaults, and a fast-check arbitrary. */
import fc from 'fast-check';
import { STATUS_BY_RANK, withOptional, type MemberEntry } from '../../../src/core/membership/member-entry.js';

export function row(id: string, fields: Partial<MemberEntry> = {}): MemberEntry {
  const base: MemberEntry = {
    id,
    address: `${id}:9000`,
    weight: 1,
    incarnation: 1,
    heartbeat: 1,
    status: 'up',
    ringEpoch: 0,
    ringFingerprint: '',
    transfersDone: 0,
    ...fields,
  };
  return withOptional(base, fields.httpAddress, fields.zone);
}

/** rows of one member whose fields collide often (small ranges), so ties and every rule get exercised */
export function arbitraryRow(id: string): fc.Arbitrary<MemberEntry> {
  return fc
    .record({
      incarnation: fc.integer({ min: 0, max: 3 }),
      heartbeat: fc.integer({ min: 0, max: 4 }),
      status: fc.constantFrom(...STATUS_BY_RANK),
      address: fc.constantFrom('a:1', 'b:1'),
      httpAddress: fc.option(fc.constantFrom('', 'h:1'), { nil: undefined }),
      zone: fc.option(fc.constantFrom('', 'z1', 'z2'), { nil: undefined }),
      weight: fc.constantFrom(1, 2),
      ringEpoch: fc.integer({ min: 0, max: 2 }),
      ringFingerprint: fc.constantFrom('', 'f1'),
      transfersDone: fc.integer({ min: 0, max: 2 }),
    })
    .map((r) => row(id, r));
}
