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

/**
 * Finds a command by its name as received (any case) without making a string for the usual short
 * names: names of up to 6 bytes are packed, lower-cased, into a number (48 bits + length).
 */
export class CommandLookup {
  private readonly table: ReadonlyMap<string, CommandSpec>;
  private readonly byPacked = new Map<number, CommandSpec>();

  constructor(table: ReadonlyMap<string, CommandSpec>) {
    this.table = table;
    for (const [name, spec] of table) if (name.length <= MAX_PACKED) this.byPacked.set(packLower(Buffer.from(name, 'latin1')), spec);
  }

  find(name: Buffer): CommandSpec | undefined {
    if (name.length <= MAX_PACKED) return this.byPacked.get(packLower(name));
    return this.table.get(name.toString('latin1').toLowerCase());
  }
}

const MAX_PACKED = 6;

function packLower(bytes: Buffer): number {
  let v = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    v = v * 256 + (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
  }
  return v * 8 + bytes.length;
}
