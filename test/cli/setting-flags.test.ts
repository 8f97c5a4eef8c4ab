/** LocalCluster passes settings to `ringkv start` as flags: a false switch must reach the node too. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { settingFlags } from '../../src/cli/local-cluster.js';
import { registerStartCommand } from '../../src/cli/start-command.js';

test('settings become flags; false turns off a switch that is on by default, and a default-off switch needs nothing', () => {
  assert.deepEqual(settingFlags({ aaeEnabled: false, skipCorruptCommitlog: false, aaeExchangePeriodMs: 5000, logLevel: 'warn', zone: undefined }), ['--no-aae-enabled', '--aae-exchange-period-ms', '5000', '--log-level', 'warn']);
  assert.deepEqual(settingFlags({ aaeEnabled: true, skipCorruptCommitlog: true }), ['--aae-enabled', '--skip-corrupt-commitlog']);
});

test('every flag settingFlags makes for a boolean is one `ringkv start` accepts', () => {
  const program = new Command();
  registerStartCommand(program);
  const start = program.commands.find((c) => c.name() === 'start')!;
  const accepted = new Set(start.options.map((o) => o.long));
  for (const flag of [...settingFlags({ aaeEnabled: false }), ...settingFlags({ aaeEnabled: true, skipCorruptCommitlog: true })]) assert.ok(accepted.has(flag), `ringkv start has no ${flag}`);
});
