import { createHash, timingSafeEqual } from 'node:crypto';
import { KEYLESS, type CommandSpec, type ServerContext, type Session } from './command.js';
import { REDIS_COMPAT_VERSION, RINGKV_VERSION } from './info.js';
import {
  BAD_CLIENT_NAME,
  DB_OUT_OF_RANGE,
  NO_PASSWORD_CONFIGURED,
  NOPROTO,
  NOT_AN_INTEGER,
  SYNTAX_ERROR,
  WRONGPASS,
  unknownSubcommand,
  wrongArity,
} from './redis-errors.js';
import { EMPTY_ARRAY, NULL, OK, PONG, array, bulk, err, int, simple, stringMap, type Reply } from './reply.js';
import { parseRedisInteger } from './redis-integer.js';

/** Commands about the connection itself: no keys, answered without touching the cluster. */

const base = { ...KEYLESS, since: '1.0.0' };

export const PING: CommandSpec = {
  ...base,
  name: 'ping',
  arity: -1,
  flags: ['fast'],
  group: 'connection',
  summary: 'Returns the server\'s liveliness response.',
  run(args) {
    if (args.length > 2) return wrongArity('ping');
    return args.length === 2 ? bulk(args[1]) : PONG;
  },
};

export const ECHO: CommandSpec = {
  ...base,
  name: 'echo',
  arity: 2,
  flags: ['fast'],
  group: 'connection',
  summary: 'Returns the given string.',
  run: (args) => bulk(args[1]),
};

export const QUIT: CommandSpec = {
  ...base,
  name: 'quit',
  arity: -1,
  flags: ['no-auth', 'fast'],
  group: 'connection',
  summary: 'Closes the connection.',
  run(_args, session) {
    session.quitRequested = true;
    return OK;
  },
};

export const SELECT: CommandSpec = {
  ...base,
  name: 'select',
  arity: 2,
  flags: ['fast'],
  group: 'connection',
  since: '2.0.0',
  summary: 'Changes the selected database (ringkv has only database 0).',
  run(args) {
    const index = parseRedisInteger(args[1]);
    if (index === null) return NOT_AN_INTEGER;
    return index === 0n ? OK : DB_OUT_OF_RANGE;
  },
};

export const AUTH: CommandSpec = {
  ...base,
  name: 'auth',
  arity: -2,
  flags: ['no-auth', 'fast'],
  group: 'connection',
  summary: 'Authenticates the connection.',
  run(args, session, ctx) {
    if (args.length > 3) return SYNTAX_ERROR;
    if (ctx.password === undefined) return NO_PASSWORD_CONFIGURED;
    const user = args.length === 3 ? args[1].toString('utf8') : 'default';
    const ok = checkCredentials(ctx, user, args[args.length - 1]);
    session.authenticated = session.authenticated || ok;
    return ok ? OK : WRONGPASS;
  },
};

export const HELLO: CommandSpec = {
  ...base,
  name: 'hello',
  arity: -1,
  flags: ['no-auth', 'fast'],
  group: 'connection',
  since: '6.0.0',
  summary: 'Handshakes with the server: protocol version, authentication, client name.',
  run(args, session, ctx) {
    let protocol: 2 | 3 | undefined;
    if (args.length >= 2) {
      const v = parseRedisInteger(args[1]);
      if (v === null) return err('ERR Protocol version is not an integer or out of range');
      if (v !== 2n && v !== 3n) return NOPROTO;
      protocol = v === 3n ? 3 : 2;
    }
    let credentials: { user: string; password: Buffer } | undefined;
    let name: string | undefined;
    for (let i = 2; i < args.length; i++) {
      const option = args[i].toString('latin1').toLowerCase();
      const more = args.length - i - 1;
      if (option === 'auth' && more >= 2) {
        credentials = { user: args[i + 1].toString('utf8'), password: args[i + 2] };
        i += 2;
      } else if (option === 'setname' && more >= 1) {
        name = args[i + 1].toString('utf8');
        i += 1;
      } else {
        return err(`ERR Syntax error in HELLO option '${args[i].toString('latin1').slice(0, 128)}'`);
      }
    }
    if (credentials !== undefined) {
      if (ctx.password === undefined) return NO_PASSWORD_CONFIGURED;
      if (!checkCredentials(ctx, credentials.user, credentials.password)) return WRONGPASS;
      session.authenticated = true;
    }
    if (!session.authenticated) {
      return err(
        'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
      );
    }
    if (name !== undefined) {
      if (!isValidClientName(name)) return BAD_CLIENT_NAME;
      session.name = name === '' ? null : name;
    }
    if (protocol !== undefined) session.protocol = protocol;
    return stringMap([
      ['server', bulk('ringkv')],
      ['version', bulk(REDIS_COMPAT_VERSION)],
      ['ringkv_version', bulk(RINGKV_VERSION)],
      ['proto', int(session.protocol)],
      ['id', int(session.id)],
      ['mode', bulk('standalone')],
      ['role', bulk('master')],
      ['modules', EMPTY_ARRAY],
    ]);
  },
};

export const CLIENT: CommandSpec = {
  ...base,
  name: 'client',
  arity: -2,
  flags: [],
  group: 'connection',
  since: '2.4.0',
  summary: 'Client connection commands: ID, SETNAME, GETNAME, SETINFO, INFO, LIST.',
  run(args, session, ctx) {
    const sub = args[1].toString('latin1').toLowerCase();
    const arityError = (): Reply => wrongArity(`client|${sub}`);
    switch (sub) {
      case 'id':
        return args.length === 2 ? int(session.id) : arityError();
      case 'getname':
        if (args.length !== 2) return arityError();
        return session.name === null ? NULL : bulk(session.name);
      case 'setname': {
        if (args.length !== 3) return arityError();
        const name = args[2].toString('utf8');
        if (!isValidClientName(name)) return BAD_CLIENT_NAME;
        session.name = name === '' ? null : name;
        return OK;
      }
      case 'setinfo': {
        if (args.length !== 4) return arityError();
        const attr = args[2].toString('latin1').toLowerCase();
        const value = args[3].toString('utf8');
        if (!isValidClientName(value)) return err(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
        if (attr === 'lib-name') session.libName = value;
        else if (attr === 'lib-ver') session.libVersion = value;
        else return err(`ERR Unrecognized option '${args[2].toString('latin1').slice(0, 128)}'`);
        return OK;
      }
      case 'info':
        return args.length === 2 ? bulk(`${describeClient(session, Date.now())}\n`) : arityError();
      case 'list': {
        if (args.length !== 2) return arityError();
        const nowMs = Date.now();
        let text = '';
        for (const s of ctx.sessions()) text += `${describeClient(s, nowMs)}\n`;
        return bulk(text);
      }
      case 'help':
        return array(
          ['CLIENT <subcommand>', 'ID', 'GETNAME', 'SETNAME <name>', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'INFO', 'LIST'].map(
            (line) => simple(line),
          ),
        );
      default:
        return unknownSubcommand(args[1].toString('latin1'), 'client');
    }
  },
};

/** Redis allows printable ASCII without spaces in client names */
function isValidClientName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function describeClient(s: Session, nowMs: number): string {
  const ageSec = Math.floor((nowMs - s.connectedAtMs) / 1000);
  const idleSec = Math.floor((nowMs - s.lastCommandAtMs) / 1000);
  return (
    `id=${s.id} addr=${s.remoteAddress} name=${s.name ?? ''} age=${ageSec} idle=${idleSec} db=0 ` +
    `cmd=${s.lastCommand} resp=${s.protocol} lib-name=${s.libName} lib-ver=${s.libVersion}`
  );
}

/** compares digests so the comparison takes the same time whatever the lengths and contents */
function checkCredentials(ctx: ServerContext, user: string, password: Buffer): boolean {
  if (ctx.password === undefined || user !== 'default') return false;
  const given = createHash('sha256').update(password).digest();
  const expected = createHash('sha256').update(ctx.password, 'utf8').digest();
  return timingSafeEqual(given, expected);
}
