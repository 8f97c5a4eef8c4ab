#!/usr/bin/env node
/** The `ringkv` command: start a node, run a local dev cluster, or talk to a cluster. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerDevCommand } from './dev-command.js';
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
  .showHelpAfterError();

registerStartCommand(program);
registerDevCommand(program);
registerClientCommands(program);

await program.parseAsync(process.argv);
