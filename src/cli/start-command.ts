/** `ringkv start`: one node, configured by defaults < --config file < RINGKV_* env < flags. */
import type { Command } from 'commander';
import { CONFIG_FIELD_NAMES, ConfigError, envVarName, flagName, loadConfig, offFlagName } from '../config/load.js';
import { configFields, fieldDescription, fieldKind, type ConfigFieldName } from '../config/schema.js';

function defaultText(field: ConfigFieldName): string {
  const schema = configFields[field] as { def: { type: string; defaultValue?: unknown } };
  if (schema.def.type !== 'default') return '';
  const value = schema.def.defaultValue;
  return ` (default: ${typeof value === 'string' ? value : JSON.stringify(value)})`;
}

export function registerStartCommand(program: Command): void {
  const cmd = program
    .command('start')
    .description('start one node (every option also reads RINGKV_<NAME> from the environment, e.g. RINGKV_HTTP_PORT)')
    .option('--config <path>', 'JSON config file (flags and env override it)');
  for (const field of CONFIG_FIELD_NAMES) {
    const placeholder = { number: ' <number>', peers: ' <list>', string: ' <value>', boolean: '' }[fieldKind(field)];
    cmd.option(`${flagName(field)}${placeholder}`, `${fieldDescription(field)}${defaultText(field)} [${envVarName(field)}]`);
    // a switch that is on by default can be turned off on the command line
    const off = offFlagName(field);
    if (off !== undefined) cmd.option(off, `turn ${flagName(field)} off`);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    const { config: file, ...flags } = opts;
    let config;
    try {
      config = loadConfig({ ...(typeof file === 'string' ? { file } : {}), env: process.env, flags });
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`ringkv: ${e.message}\n`);
        process.exit(e.exitCode);
      }
      throw e;
    }
    // loaded here, not at the top, so client commands start without the whole server
    const { startNode, stopOnSignals } = await import('../server.js');
    let running;
    try {
      running = await startNode(config);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`ringkv: ${e.message}\n`);
        process.exit(e.exitCode);
      }
      process.stderr.write(`ringkv: node ${config.nodeId} failed to start: ${(e as Error).message}\n`);
      process.exit(1);
    }
    stopOnSignals(running);
    if (process.env.RINGKV_EXIT_ON_STDIN_CLOSE === '1') {
      // started by `ringkv dev`, a test or a benchmark: when the parent goes away, so do we
      const stop = (): void => {
        running.logger.info({}, 'parent went away (stdin closed): stopping');
        running.stop().finally(() => process.exit(0));
      };
      process.stdin.on('end', stop);
      process.stdin.on('error', stop);
      process.stdin.resume();
    }
  });
}
