#!/usr/bin/env node
/** The `ringkv` command: start a node, run a local dev cluster, or talk to a cluster. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerDevCommand } from './dev-command.js';
import { registerMembershipCommands } from './membership-commands.js';
import { registerOpsCommands } from './ops-commands.js';
import { registerStartCommand } from './start-command.js';

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next location (source vs dist layout)
    }
  }
  return 'unknown';
}

const program = new Command()
  .name('ringkv')
  .description('ringkv: a leaderless, replicated, Dynamo-style key-value store')
  .version(packageVersion())
  .showHelpAfterError()
  // a usage error exits 2 (as a bad configuration does), not commander's 1, which means "the request failed"
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

registerStartCommand(program);
registerDevCommand(program);
registerClientCommands(program);
registerMembershipCommands(program);
program
  .command('chaos')
  .description('the real-network fault harness (needs root): `ringkv chaos --help`, or `npm run chaos -- --help`')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async () => {
    // loaded here: the harness is a development tool, not part of a node
    const { chaosMain } = await import('../chaos/main.js');
    process.exit(await chaosMain(process.argv.slice(process.argv.indexOf('chaos') + 1)));
  });
registerOpsCommands(program);

await program.parseAsync(process.argv);
