import type { CommandSpec } from './command.js';
import { AUTH, CLIENT, ECHO, HELLO, PING, QUIT, SELECT } from './connection-commands.js';
import { DECR, DECRBY, DEL, EXISTS, GET, GETDEL, INCR, INCRBY, MGET, MSET, SET } from './key-commands.js';
import { CONFIG, DBSIZE, INFO, makeCommandCommand } from './server-commands.js';

/** Every command the RESP front end understands, by lower-case name. */
export function buildCommandTable(): ReadonlyMap<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  const specs = [
    PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT,
    INFO, CONFIG, DBSIZE,
    GET, SET, GETDEL, DEL, EXISTS, MGET, MSET, INCR, INCRBY, DECR, DECRBY,
  ];
  for (const spec of specs) table.set(spec.name, spec);
  const command = makeCommandCommand(table);
  table.set(command.name, command);
  return table;
}
