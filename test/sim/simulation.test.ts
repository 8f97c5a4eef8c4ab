import test from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, SimulationLimitError } from '../../src/sim/simulation.js';

test('async work started by an event finishes before the next event runs', async () => {
  const sim = new Simulation({ seed: 1 });
  const log: string[] = [];
  const slowChain = async (name: string) => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    log.push(name);
  };
  sim.clock.setTimer(1, () => void slowChain('a'));
  sim.clock.setTimer(1, () => log.push('b'));
  await sim.runFor(10);
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(sim.elapsedMs, 10);
  assert.equal(sim.steps, 2);
});

test('runUntil stops when the predicate holds, or after maxMs of virtual time', async () => {
  const sim = new Simulation({ seed: 1 });
  let ticks = 0;
  const tick = () => {
    ticks++;
    sim.clock.setTimer(100, tick);
  };
  sim.clock.setTimer(100, tick);
  assert.equal(await sim.runUntil(() => ticks >= 3, 10_000), true);
  assert.equal(sim.elapsedMs, 300);
  assert.equal(await sim.runUntil(() => false, 1000), false);
  assert.equal(sim.elapsedMs, 1300);
  assert.equal(ticks, 13);
  // with nothing scheduled, time still advances to the deadline
  const idle = new Simulation({ seed: 1 });
  assert.equal(await idle.runUntil(() => false, 50), false);
  assert.equal(idle.elapsedMs, 50);
});

test('lost work resolves through virtual time: a timeout fires although nothing else happens', async () => {
  const sim = new Simulation({ seed: 1 });
  const outcome = new Promise<string>((resolve) => sim.clock.setTimer(5000, () => resolve('timed out')));
  let result = '';
  void outcome.then((r) => (result = r));
  await sim.runUntil(() => result !== '', 60_000);
  assert.equal(result, 'timed out');
  assert.equal(sim.elapsedMs, 5000);
});

test('a runaway run hits the step limit and names its seed', async () => {
  const sim = new Simulation({ seed: 99, maxSteps: 1000 });
  const storm = () => void sim.clock.setTimer(0, storm);
  storm();
  await assert.rejects(sim.runFor(1), (e: unknown) => e instanceof SimulationLimitError && /seed 99/.test(e.message));
});

test('an event that throws surfaces with the seed', async () => {
  const sim = new Simulation({ seed: 5 });
  sim.clock.setTimer(3, () => {
    throw new Error('boom');
  });
  await assert.rejects(sim.runFor(10), /seed 5: an event at virtual 3ms threw: boom/);
});

test('trace digest depends on every traced line', () => {
  const a = new Simulation({ seed: 1 });
  const b = new Simulation({ seed: 1 });
  a.trace('x');
  b.trace('x');
  assert.equal(a.traceDigest(), b.traceDigest());
  b.trace('y');
  assert.notEqual(a.traceDigest(), b.traceDigest());
  const lines: string[] = [];
  const v = new Simulation({ seed: 1, traceSink: (l) => lines.push(l) });
  v.trace('hello');
  assert.deepEqual(lines, ['[0ms] hello']);
});
