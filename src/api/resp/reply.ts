/**
 * A reply as command handlers build it, independent of the protocol version: the writer encodes it as
 * RESP2 or RESP3 depending on what the connection negotiated (HELLO) when the command arrived.
 */
export type Reply =
  | { readonly t: 'simple'; readonly s: string }
  /** the whole error line without '-', e.g. "ERR syntax error"; CR/LF are replaced by spaces */
  | { readonly t: 'error'; readonly s: string }
  | { readonly t: 'int'; readonly n: number | bigint }
  | { readonly t: 'bulk'; readonly b: Uint8Array | string }
  /** RESP2 `$-1`, RESP3 `_` */
  | { readonly t: 'null' }
  /** RESP2 `*-1`, RESP3 `_` */
  | { readonly t: 'nullArray' }
  | { readonly t: 'array'; readonly items: readonly Reply[] }
  /** RESP3 `%`, RESP2 a flat array key, value, key, value … */
  | { readonly t: 'map'; readonly entries: readonly (readonly [Reply, Reply])[] }
  /** RESP3 `~`, RESP2 an array */
  | { readonly t: 'set'; readonly items: readonly Reply[] }
  /** RESP3 `#t`/`#f`, RESP2 the integer 1/0 */
  | { readonly t: 'bool'; readonly v: boolean }
  /** RESP3 `=` with a 3-letter format (txt, mkd), RESP2 a bulk string */
  | { readonly t: 'verbatim'; readonly format: string; readonly s: string };

export const OK: Reply = { t: 'simple', s: 'OK' };
export const PONG: Reply = { t: 'simple', s: 'PONG' };
export const NULL: Reply = { t: 'null' };
export const NULL_ARRAY: Reply = { t: 'nullArray' };
export const EMPTY_ARRAY: Reply = { t: 'array', items: [] };

export function simple(s: string): Reply {
  return { t: 'simple', s };
}
export function err(s: string): Reply {
  return { t: 'error', s };
}
export function int(n: number | bigint): Reply {
  return { t: 'int', n };
}
export function bulk(b: Uint8Array | string): Reply {
  return { t: 'bulk', b };
}
export function array(items: readonly Reply[]): Reply {
  return { t: 'array', items };
}
export function map(entries: readonly (readonly [Reply, Reply])[]): Reply {
  return { t: 'map', entries };
}
/** a map whose keys are plain strings (HELLO, CONFIG GET, COMMAND DOCS) */
export function stringMap(entries: readonly (readonly [string, Reply])[]): Reply {
  return { t: 'map', entries: entries.map(([k, v]) => [bulk(k), v] as const) };
}
export function set(items: readonly Reply[]): Reply {
  return { t: 'set', items };
}
export function bool(v: boolean): Reply {
  return { t: 'bool', v };
}
export function verbatim(s: string, format = 'txt'): Reply {
  return { t: 'verbatim', format, s };
}
