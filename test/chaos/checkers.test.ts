import test from 'node:test';
import assert from 'node:assert/strict';
import { judge } from '../../src/chaos/checkers/verdict.js';
import { parseHistory, HistoryFormatError, type HistoryRecord } from '../../src/chaos/history.js';
import { add, check, fault, incr, meta, op, read } from './history-kit.js';

const checkers = (records: HistoryRecord[]): string[] => [...new Set(judge(records).violations.map((v) => v.checker))].sort();

test('set-full: acknowledged elements present at the check pass; unknown and failed ones may be missing', () => {
  const h = [
    meta(),
    add('set-full', 'set-u-1', '1', 0, 10),
    add('set-full', 'set-u-2', '2', 0, 10, 'unknown'),
    add('set-full', 'set-u-3', '3', 0, 10, 'fail'),
    add('set-full', 'set-shared', 's4', 5, 20),
    add('set-full', 'set-shared', 's5', 6, 21, 'unknown'),
    ...check(0, 100, [
      ['set-full', 'set-u-1', ['1']],
      ['set-full', 'set-u-2', null],
      ['set-full', 'set-u-3', null],
      ['set-full', 'set-shared', ['s4']],
    ]),
  ];
  const v = judge(h);
  assert.deepEqual(v.violations, []);
  assert.equal(v.totals['set-full'].acknowledged, 2);
  assert.equal(v.totals['set-full'].lost, 0);
});

test('set-full: an acknowledged unique key missing after healing is a lost write', () => {
  const h = [meta(), add('set-full', 'set-u-1', '1', 0, 10), add('set-full', 'set-u-2', '2', 0, 10), ...check(0, 100, [['set-full', 'set-u-1', ['1']], ['set-full', 'set-u-2', null]])];
  const v = judge(h);
  assert.deepEqual(checkers(h), ['lost-writes']);
  assert.equal(v.totals['set-full'].lost, 1);
  assert.match(v.violations[0].message, /element 2 of set-u-2/);
});

test('set-full: an element of the shared key lost at a later check is caught there', () => {
  const h = [
    meta(),
    add('set-full', 'set-shared', 's1', 0, 10),
    add('set-full', 'set-shared', 's2', 0, 12),
    ...check(0, 100, [['set-full', 'set-shared', ['s1', 's2']]]),
    ...check(1, 200, [['set-full', 'set-shared', ['s2']]]),
  ];
  const v = judge(h);
  assert.deepEqual(checkers(h), ['lost-writes']);
  assert.equal(v.setFull.lost[0].element, 's1');
  assert.equal(v.setFull.lost[0].missingAtCheck, 1);
});

test('set-full: an element acknowledged after a check began is judged only by later checks', () => {
  const h = [meta(), ...check(0, 100, [['set-full', 'set-shared', []]]), add('set-full', 'set-shared', 's1', 90, 150)];
  const v = judge(h);
  assert.deepEqual(v.violations, []);
  assert.equal(v.setFull.unverified, 1);
});

test('a phantom element and a failed write that shows up are violations in every workload', () => {
  const h = [
    meta(),
    add('set-full', 'set-shared', 's1', 0, 10, 'fail'),
    read('set-full', 'set-shared', ['s1', 'ghost'], 20, 30),
    add('register', 'register', 'r1', 0, 10),
    read('register', 'register', ['r1', 'r9'], 20, 30),
    ...check(0, 100, [['set-full', 'set-shared', ['s1']], ['register', 'register', ['r1']]]),
  ];
  assert.deepEqual(checkers(h), ['failed-write-visible', 'phantom']);
  assert.equal(judge(h).violations.filter((x) => x.checker === 'phantom').length, 2);
});

test('an element read before its add was invoked is a phantom', () => {
  const h = [meta(), read('set-full', 'set-shared', ['s1'], 0, 5), add('set-full', 'set-shared', 's1', 10, 20), ...check(0, 100, [['set-full', 'set-shared', ['s1']]])];
  assert.deepEqual(checkers(h), ['phantom']);
});

test('register: last-writer-wins losses are measured, not a violation', () => {
  const h = [meta(), add('register', 'register', 'r1', 0, 10), add('register', 'register', 'r2', 1, 11), ...check(0, 100, [['register', 'register', ['r2']]])];
  const v = judge(h);
  assert.deepEqual(v.violations, []);
  assert.equal(v.totals.register.lost, 1);
  assert.equal(v.totals.register.acknowledged, 2);
});

test('counter: the value must lie in [acknowledged, acknowledged + unknown]', () => {
  const base = [meta(), incr('counter-0', 3, 0, 10), incr('counter-0', 4, 0, 10, 'unknown'), incr('counter-0', 5, 0, 10, 'fail')];
  for (const [value, ok] of [['3', true], ['7', true], ['2', false], ['8', false], ['12', false]] as const) {
    const h = [...base, ...check(0, 100, [['counter', 'counter-0', value]])];
    assert.deepEqual(checkers(h), ok ? [] : ['counter-bounds'], `value ${value}`);
  }
  const lostOne = judge([...base, ...check(0, 100, [['counter', 'counter-0', '2']])]);
  assert.equal(lostOne.totals.counter.lost, 1);
});

test('counter: a value that is not one integer is a violation; a missing key reads as 0', () => {
  assert.deepEqual(checkers([meta(), incr('c', 1, 0, 10), ...check(0, 100, [['counter', 'c', '1,1']])]), ['counter-bounds']);
  assert.deepEqual(checkers([meta(), incr('c', 1, 0, 10, 'unknown'), ...check(0, 100, [['counter', 'c', null]])]), []);
  assert.deepEqual(checkers([meta(), incr('c', 1, 0, 10), ...check(0, 100, [['counter', 'c', null]])]), ['counter-bounds']);
});

test('counter: INCRBY replies below what was acknowledged before them are counted, not failed', () => {
  const h = [meta(), incr('c', 5, 0, 10, 'ok', 5), incr('c', 1, 20, 30, 'ok', 1), ...check(0, 100, [['counter', 'c', '6']])];
  const v = judge(h);
  assert.deepEqual(v.violations, []);
  assert.equal(v.counter.staleReplies, 1);
});

test('convergence: a key whose replicas still differ after healing fails the run', () => {
  const h = [meta(), add('set-full', 'set-u-1', '1', 0, 10), ...check(0, 100, [['set-full', 'set-u-1', ['1']]], false)];
  assert.deepEqual(checkers(h), ['convergence']);
});

test('availability: with one node out, operations through the others must succeed; the cut-off node does not count', () => {
  const ops = (node: string, outcome: 'ok' | 'unknown', n: number, at: number) =>
    Array.from({ length: n }, (_, i) => op('counter', 'incr', 'c', at + i, at + i + 1, outcome, { value: 1, node }));
  const good = [meta(), fault('isolate-one', ['n2'], 0, 1000), ...ops('n1', 'ok', 200, 10), ...ops('n2', 'unknown', 50, 10)];
  const v = judge(good);
  assert.deepEqual(v.violations.filter((x) => x.checker === 'availability'), []);
  assert.equal(v.availability.find((a) => a.workload === 'counter')?.availability, 1);
  const bad = [meta(), fault('isolate-one', ['n2'], 0, 1000), ...ops('n1', 'ok', 90, 10), ...ops('n3', 'unknown', 10, 500)];
  assert.ok(checkers(bad).includes('availability'));
  // a fault that leaves no quorum on the majority side (two of three nodes out) has no floor
  const twoOut = [meta(), fault('halves', ['n2', 'n3'], 0, 1000), ...ops('n1', 'unknown', 10, 10)];
  assert.ok(!checkers(twoOut).includes('availability'));
});

test('staleness: the time from acknowledgement to the start of the last read that missed the element', () => {
  const h = [
    meta(),
    add('set-full', 'set-u-1', '1', 0, 100),
    read('set-full', 'set-u-1', [], 50, 60), // before the acknowledgement: not stale
    read('set-full', 'set-u-1', [], 150, 160),
    read('set-full', 'set-u-1', [], 300, 310),
    read('set-full', 'set-u-1', ['1'], 400, 410),
    add('set-full', 'set-u-2', '2', 0, 100),
    read('set-full', 'set-u-2', ['2'], 120, 130),
    ...check(0, 1000, [['set-full', 'set-u-1', ['1']], ['set-full', 'set-u-2', ['2']]]),
  ];
  const v = judge(h);
  assert.deepEqual(v.violations, []);
  const s = v.totals['set-full'].staleness!;
  assert.equal(s.observed, 2);
  assert.equal(s.stale, 1);
  assert.equal(s.maxMs, 200);
  assert.equal(s.p50Ms, 0);
});

test('a node that exits by itself fails the run', () => {
  assert.deepEqual(checkers([meta(), { type: 'node-exit', node: 'n1', code: 1, signal: null, atMs: 5 }]), ['node-crashed']);
});

test('the summary has a row per fault window and workload, with what was lost in that window', () => {
  const h = [
    meta(),
    fault('kill-one', ['n3'], 0, 100),
    add('set-full', 'set-u-1', '1', 10, 20),
    ...check(0, 200, [['set-full', 'set-u-1', null], ['counter', 'counter-0', null], ['register', 'register', null]]),
  ];
  const rows = judge(h).rows;
  assert.deepEqual(rows.map((r) => `${r.window}/${r.workload}`), ['kill-one/set-full', 'kill-one/counter', 'kill-one/register']);
  assert.equal(rows[0].lost, 1);
  assert.equal(rows[0].converged, '1/1');
});

test('a history replays from its JSON lines to the same verdict; malformed lines are refused', () => {
  const h = [meta(), add('set-full', 'set-u-1', '1', 0, 10), ...check(0, 100, [['set-full', 'set-u-1', null]])];
  const replayed = parseHistory(h.map((r) => JSON.stringify(r)).join('\n') + '\n', 'mem');
  assert.deepEqual(judge(replayed).violations, judge(h).violations);
  assert.throws(() => parseHistory('{"type":"op"}\nnot json\n', 'f'), (e: unknown) => e instanceof HistoryFormatError && /f:2/.test(e.message));
  assert.throws(() => parseHistory('{"type":"weird"}\n', 'f'), HistoryFormatError);
});
