import { KEYLESS, type CommandSpec, type ServerContext } from './command.js';
import { renderInfo } from './info.js';
import { SYNTAX_ERROR, unknownSubcommand, wrongArity } from './redis-errors.js';
import { NULL, OK, array, bulk, err, int, set, simple, stringMap, verbatim, type Reply } from './reply.js';

/** Commands about the server: introspection for redis-cli, redis-benchmark and client libraries. */


export const INFO: CommandSpec = {
  ...KEYLESS,
  name: 'info',
  arity: -1,
  flags: ['loading', 'stale'],
  group: 'server',
  since: '1.0.0',
  summary: 'Server, clients, stats, cluster and keyspace information.',
  run(args, _session, ctx) {
    const sections = args.slice(1).map((a) => a.toString('latin1'));
    return verbatim(renderInfo(ctx, sections, countSessions(ctx)));
  },
};

export const DBSIZE: CommandSpec = {
  ...KEYLESS,
  name: 'dbsize',
  arity: 1,
  flags: ['readonly', 'fast'],
  group: 'server',
  since: '1.0.0',
  summary: 'An estimate of the number of keys this node stores (replicas included), not the cluster total.',
  run: (_args, _session, ctx) => int(ctx.info().keysEstimate),
};

/**
 * What CONFIG GET answers: what redis-benchmark (save, appendonly) and common clients and tools ask.
 * ringkv is configured through its own config file and flags, so CONFIG SET is refused.
 */
function configValues(ctx: ServerContext): ReadonlyArray<readonly [string, string]> {
  return [
    ['save', ''],
    ['appendonly', 'no'],
    ['databases', '1'],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['maxclients', String(ctx.maxClients)],
    ['timeout', '0'],
    ['port', String(ctx.port)],
    ['bind', ctx.host],
    ['proto-max-bulk-len', String(ctx.maxValueBytes)],
    ['cluster-enabled', 'no'],
    ['notify-keyspace-events', ''],
    ['slowlog-log-slower-than', '-1'],
    ['lua-time-limit', '0'],
  ];
}

export const CONFIG: CommandSpec = {
  ...KEYLESS,
  name: 'config',
  arity: -2,
  flags: [],
  group: 'server',
  since: '2.0.0',
  summary: 'CONFIG GET of the settings clients commonly ask about; CONFIG SET is not supported.',
  run(args, _session, ctx) {
    const sub = args[1].toString('latin1').toLowerCase();
    if (sub === 'get') {
      if (args.length < 3) return wrongArity('config|get');
      const patterns = args.slice(2).map((a) => globToRegExp(a.toString('utf8')));
      const matched = configValues(ctx).filter(([name]) => patterns.some((p) => p.test(name)));
      return stringMap(matched.map(([name, value]) => [name, bulk(value)] as const));
    }
    if (sub === 'set') return err('ERR CONFIG SET is not supported by ringkv: configure the node with its config file or flags');
    if (sub === 'resetstat') return args.length === 2 ? OK : wrongArity('config|resetstat');
    if (sub === 'help') return array([simple('CONFIG <subcommand>'), simple('GET <pattern> [<pattern> ...]'), simple('RESETSTAT')]);
    return unknownSubcommand(args[1].toString('latin1'), 'config');
  },
};

/** COMMAND needs the whole table, so it is built by the table itself */
export function makeCommandCommand(table: ReadonlyMap<string, CommandSpec>): CommandSpec {
  const sorted = () => [...table.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    ...KEYLESS,
    name: 'command',
    arity: -1,
    flags: ['loading', 'stale'],
    group: 'server',
    since: '2.8.13',
    summary: 'Describes the commands ringkv understands (COUNT, INFO, DOCS, LIST).',
    run(args) {
      if (args.length === 1) return array(sorted().map(describeCommand));
      const sub = args[1].toString('latin1').toLowerCase();
      const named = () => args.slice(2).map((a) => a.toString('latin1').toLowerCase());
      switch (sub) {
        case 'count':
          return args.length === 2 ? int(table.size) : wrongArity('command|count');
        case 'list':
          return args.length === 2 ? array(sorted().map((c) => bulk(c.name))) : SYNTAX_ERROR;
        case 'info': {
          const names = named();
          if (names.length === 0) return array(sorted().map(describeCommand));
          return array(names.map((n) => {
            const spec = table.get(n);
            return spec === undefined ? NULL : describeCommand(spec);
          }));
        }
        case 'docs': {
          const names = named();
          const specs = names.length === 0 ? sorted() : names.flatMap((n) => table.get(n) ?? []);
          return stringMap(specs.map((spec) => [spec.name, documentCommand(spec)] as const));
        }
        case 'help':
          return array(['COMMAND [<subcommand>]', 'COUNT', 'DOCS [<command-name> ...]', 'INFO [<command-name> ...]', 'LIST'].map((l) => simple(l)));
        default:
          return unknownSubcommand(args[1].toString('latin1'), 'command');
      }
    },
  };
}

/** Redis 7's ten-element COMMAND entry */
function describeCommand(spec: CommandSpec): Reply {
  return array([
    bulk(spec.name),
    int(spec.arity),
    set(spec.flags.map((f) => simple(f))),
    int(spec.firstKey),
    int(spec.lastKey),
    int(spec.keyStep),
    set([simple(`@${spec.group}`)]),
    array([]),
    array([]),
    array([]),
  ]);
}

function documentCommand(spec: CommandSpec): Reply {
  return stringMap([
    ['summary', bulk(spec.summary)],
    ['since', bulk(spec.since)],
    ['group', bulk(spec.group)],
  ]);
}

function countSessions(ctx: ServerContext): number {
  let n = 0;
  for (const _ of ctx.sessions()) n++;
  return n;
}

/** Redis glob (*, ?, [abc], [^a], [a-z], \x), case-insensitive as CONFIG GET matches */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < glob.length) re += escapeRegExp(glob[++i]);
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close === -1) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else re += escapeRegExp(c);
  }
  return new RegExp(`${re}$`, 'is');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
