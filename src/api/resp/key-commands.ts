import type { GetResult, KvService, SiblingView } from '../../cluster/kv-service.js';
import { RingkvError } from '../../core/errors.js';
import type { CommandSpec, ServerContext } from './command.js';
import { pickLastWriter } from './last-writer.js';
import { NOT_AN_INTEGER, SYNTAX_ERROR, errorReply } from './redis-errors.js';
import { isInt64, parseRedisInteger } from './redis-integer.js';
import { NULL, OK, array, bulk, err, int, type Reply } from './reply.js';

/**
 * The data commands. Semantics under ringkv's model (see the RESP section of the README):
 * - GET returns one value: the last writer by hybrid logical timestamp among the siblings. Reads
 *   of one key on one node share a quorum read that began after they arrived (read-combiner.ts).
 * - A plain SET is one last-writer-wins overwrite: the replica that mints it supersedes what it holds,
 *   with no read first (one round trip), so SETs do not pile up siblings. Plain SETs of one key on one
 *   node are combined while one is in flight (set-combiner.ts). SET with NX / XX / GET reads the
 *   key's context at the read quorum and writes with it: decided on that read, not atomic against a
 *   concurrent writer on another connection or node.
 * - INCR and friends add to a PN-counter (kv.increment): concurrent increments never get lost.
 * - DEL / GETDEL read (to know whether the key existed and to get its context), then delete with it.
 * - Multi-key commands run their keys concurrently and are not atomic.
 */

const keyed = { firstKey: 1, lastKey: 1, keyStep: 1 };

export const NO_EXPIRY = err(
  'ERR ringkv does not support key expiry: SET with EX, PX, EXAT, PXAT or KEEPTTL is refused (keys live until deleted)',
);

interface Current {
  live: SiblingView | undefined;
  /** '' when nothing was there */
  context: string;
}

/** GET's reply: the last writer's value, or nil */
function valueReply(result: GetResult): Reply {
  const live = pickLastWriter(result.siblings);
  return live === undefined ? NULL : bulk(live.value);
}

async function readCurrent(ctx: ServerContext, key: Buffer): Promise<Current> {
  const result = await ctx.readCombiner.get(key);
  return { live: pickLastWriter(result.siblings), context: result.context };
}

function checkKey(ctx: ServerContext, key: Buffer): void {
  if (key.length > ctx.maxKeyBytes) {
    throw new RingkvError('KEY_TOO_LARGE', `key is ${key.length} bytes, over the limit of ${ctx.maxKeyBytes} bytes (maxKeyBytes)`);
  }
}

function checkValue(ctx: ServerContext, value: Buffer): void {
  if (value.length > ctx.maxValueBytes) {
    throw new RingkvError(
      'VALUE_TOO_LARGE',
      `value is ${value.length} bytes, over the limit of ${ctx.maxValueBytes} bytes (maxValueBytes)`,
    );
  }
}

/**
 * Arguments are zero-copy views into the socket's receive buffer; anything the store may keep (keys
 * and values of writes) is copied so a small value does not pin a 64 KiB chunk in a memtable.
 */
function owned(bytes: Buffer): Buffer {
  return Buffer.from(bytes);
}

async function writeWithContext(kv: KvService, key: Buffer, value: Buffer, context: string): Promise<void> {
  await kv.put(owned(key), owned(value), context === '' ? undefined : { context });
}

/**
 * a plain SET: one last-writer-wins overwrite — the replica that mints it supersedes what it holds,
 * with no read first (the SetCombiner calls this)
 */
export async function overwrite(kv: KvService, key: Buffer, value: Buffer): Promise<void> {
  await kv.put(owned(key), owned(value), { overwrite: true });
}

export const GET: CommandSpec = {
  ...keyed,
  name: 'get',
  arity: 2,
  flags: ['readonly', 'fast'],
  group: 'string',
  since: '1.0.0',
  summary: 'Returns the value of a key (the last writer among concurrent siblings).',
  access: 'read',
  run(args, _session, ctx) {
    checkKey(ctx, args[1]);
    return ctx.readCombiner.get(args[1]).then(valueReply);
  },
};

const okReply = (): Reply => OK;

interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
}

/** Redis's SET option grammar; expiry options parse (so syntax errors stay Redis's) but are refused */
function parseSetOptions(args: readonly Buffer[]): SetOptions | Reply {
  const o: SetOptions = { nx: false, xx: false, get: false };
  let expiry = false;
  for (let i = 3; i < args.length; i++) {
    const word = args[i].toString('latin1').toUpperCase();
    if (word === 'NX' && !o.xx) o.nx = true;
    else if (word === 'XX' && !o.nx) o.xx = true;
    else if (word === 'GET') o.get = true;
    else if (word === 'KEEPTTL' && !expiry) expiry = true;
    else if ((word === 'EX' || word === 'PX' || word === 'EXAT' || word === 'PXAT') && !expiry && i + 1 < args.length) {
      expiry = true;
      i++;
      if (parseRedisInteger(args[i]) === null) return NOT_AN_INTEGER;
    } else return SYNTAX_ERROR;
  }
  return expiry ? NO_EXPIRY : o;
}

async function setOne(ctx: ServerContext, key: Buffer, value: Buffer, o: SetOptions): Promise<Reply> {
  if (!o.nx && !o.xx && !o.get) return ctx.setCombiner.set(key, value).then(okReply);
  const current = await readCurrent(ctx, key);
  const old = current.live === undefined ? NULL : bulk(current.live.value);
  if ((o.nx && current.live !== undefined) || (o.xx && current.live === undefined)) return o.get ? old : NULL;
  await writeWithContext(ctx.kv, key, value, current.context);
  return o.get ? old : OK;
}

export const SET: CommandSpec = {
  ...keyed,
  name: 'set',
  arity: -3,
  flags: ['write', 'denyoom'],
  group: 'string',
  since: '1.0.0',
  summary: 'Sets the value of a key (NX/XX/GET decided on a quorum read; no expiry options).',
  access: 'write',
  // a plain SET goes through the SetCombiner, which keeps SETs of a key in order by itself
  accessOf: (args) => (args.length === 3 ? 'set' : 'write'),
  run(args, _session, ctx) {
    const options = parseSetOptions(args);
    if ('t' in options) return options;
    checkKey(ctx, args[1]);
    checkValue(ctx, args[2]);
    return setOne(ctx, args[1], args[2], options);
  },
};

export const GETDEL: CommandSpec = {
  ...keyed,
  name: 'getdel',
  arity: 2,
  flags: ['write', 'fast'],
  group: 'string',
  since: '6.2.0',
  summary: 'Returns the value of a key after deleting it.',
  access: 'write',
  async run(args, _session, ctx) {
    checkKey(ctx, args[1]);
    const current = await readCurrent(ctx, args[1]);
    if (current.live === undefined) return NULL;
    await ctx.kv.delete(owned(args[1]), { context: current.context });
    return bulk(current.live.value);
  },
};

/** deletes a key if the read finds it live; resolves with whether it did */
async function deleteOne(ctx: ServerContext, key: Buffer): Promise<boolean> {
  const current = await readCurrent(ctx, key);
  if (current.live === undefined) return false;
  await ctx.kv.delete(owned(key), { context: current.context });
  return true;
}

export const DEL: CommandSpec = {
  name: 'del',
  arity: -2,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  flags: ['write'],
  group: 'generic',
  since: '1.0.0',
  summary: 'Deletes keys; returns how many existed.',
  access: 'write',
  async run(args, _session, ctx) {
    const keys = args.slice(1);
    for (const key of keys) checkKey(ctx, key);
    // a key named twice is deleted once and counted once, as in Redis
    const unique = uniqueKeys(keys);
    const existed = await Promise.all(unique.map((key) => deleteOne(ctx, key)));
    return int(existed.filter(Boolean).length);
  },
};

export const EXISTS: CommandSpec = {
  name: 'exists',
  arity: -2,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  flags: ['readonly', 'fast'],
  group: 'generic',
  since: '1.0.0',
  summary: 'Counts how many of the given keys exist (a key named twice counts twice).',
  access: 'read',
  async run(args, _session, ctx) {
    const keys = args.slice(1);
    for (const key of keys) checkKey(ctx, key);
    const found = await Promise.all(keys.map(async (key) => (await readCurrent(ctx, key)).live !== undefined));
    return int(found.filter(Boolean).length);
  },
};

export const MGET: CommandSpec = {
  name: 'mget',
  arity: -2,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  flags: ['readonly', 'fast'],
  group: 'string',
  since: '1.0.0',
  summary: 'Returns the values of several keys (reads run concurrently; not a snapshot).',
  access: 'read',
  async run(args, _session, ctx) {
    const keys = args.slice(1);
    for (const key of keys) checkKey(ctx, key);
    const values = await Promise.all(
      keys.map(async (key) => {
        const { live } = await readCurrent(ctx, key);
        return live === undefined ? NULL : bulk(live.value);
      }),
    );
    return array(values);
  },
};

export const MSET: CommandSpec = {
  name: 'mset',
  arity: -3,
  firstKey: 1,
  lastKey: -1,
  keyStep: 2,
  flags: ['write', 'denyoom'],
  group: 'string',
  since: '1.0.1',
  summary: 'Sets several keys (each like SET; not atomic: on an error some keys may be set).',
  access: 'write',
  async run(args, _session, ctx) {
    if (args.length % 2 === 0) return err("ERR wrong number of arguments for 'mset' command");
    const pairs = new Map<string, [Buffer, Buffer]>();
    for (let i = 1; i < args.length; i += 2) {
      checkKey(ctx, args[i]);
      checkValue(ctx, args[i + 1]);
      // the last value named for a key wins, as in Redis
      pairs.set(args[i].toString('latin1'), [args[i], args[i + 1]]);
    }
    const plain: SetOptions = { nx: false, xx: false, get: false };
    const results = await Promise.allSettled([...pairs.values()].map(([key, value]) => setOne(ctx, key, value, plain)));
    const failed = results.find((r) => r.status === 'rejected');
    return failed === undefined ? OK : errorReply((failed as PromiseRejectedResult).reason);
  },
};

function incrementBy(name: string, fixedDelta: bigint | null, negate: boolean, summary: string): CommandSpec {
  return {
    ...keyed,
    name,
    arity: fixedDelta === null ? 3 : 2,
    flags: ['write', 'denyoom', 'fast'],
    group: 'string',
    since: '1.0.0',
    summary,
    access: 'write',
    async run(args, _session, ctx) {
      let delta = fixedDelta;
      if (delta === null) {
        const parsed = parseRedisInteger(args[2]);
        if (parsed === null) return NOT_AN_INTEGER;
        delta = parsed;
      }
      if (negate) {
        // Redis refuses DECRBY -9223372036854775808: its negation is not an int64
        if (!isInt64(-delta)) return err('ERR decrement would overflow');
        delta = -delta;
      }
      checkKey(ctx, args[1]);
      // a value written with SET that reads as an integer seeds the counter (the replica converts it);
      // anything else fails with NOT_AN_INTEGER, whose RESP form is Redis's own text
      return int(await ctx.kv.increment(owned(args[1]), delta));
    },
  };
}

export const INCR = incrementBy('incr', 1n, false, 'Adds 1 to a counter key (a PN-counter: concurrent increments all count).');
export const DECR = incrementBy('decr', 1n, true, 'Subtracts 1 from a counter key.');
export const INCRBY = incrementBy('incrby', null, false, 'Adds an integer to a counter key.');
export const DECRBY = incrementBy('decrby', null, true, 'Subtracts an integer from a counter key.');

function uniqueKeys(keys: readonly Buffer[]): Buffer[] {
  if (keys.length < 2) return [...keys];
  const seen = new Map<string, Buffer>();
  for (const key of keys) seen.set(key.toString('latin1'), key);
  return [...seen.values()];
}
