/**
 * Loads a node's configuration from its four sources, in increasing precedence:
 * schema defaults < JSON config file < RINGKV_* environment variables < command-line flags.
 * Every failure is a ConfigError whose message names the field, the value and where it came from,
 * so `ringkv start` can print it and exit with code 2.
 */
import { readFileSync } from 'node:fs';
import { configFields, configSchema, fieldKind, type ConfigFieldName, type RingkvConfig } from './schema.js';
import { parsePeerList, PeerSyntaxError } from './peers.js';

export class ConfigError extends Error {
  /** the process exit code the CLI uses for a bad configuration */
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const CONFIG_FIELD_NAMES = Object.keys(configFields) as ConfigFieldName[];

/** httpPort → RINGKV_HTTP_PORT */
export function envVarName(field: ConfigFieldName): string {
  return `RINGKV_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** httpPort → --http-port */
export function flagName(field: ConfigFieldName): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** aaeEnabled → --no-aae-enabled: the flag that turns off a switch that is on by default; undefined for every other field */
export function offFlagName(field: ConfigFieldName): string | undefined {
  const schema = configFields[field] as { def: { type: string; defaultValue?: unknown } };
  const onByDefault = fieldKind(field) === 'boolean' && schema.def.type === 'default' && schema.def.defaultValue === true;
  return onByDefault ? `--no-${flagName(field).slice(2)}` : undefined;
}

interface Layer {
  values: Record<string, unknown>;
  /** where each field's value came from, for error messages */
  origin: (field: string) => string;
}

/**
 * Turns a string from env or a flag into the field's type. A string that is not a number is left
 * as it is, so validation reports the original text rather than NaN.
 */
function convertText(field: ConfigFieldName, text: string, origin: string): unknown {
  switch (fieldKind(field)) {
    case 'number': {
      const trimmed = text.trim();
      const n = Number(trimmed);
      return trimmed !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean': {
      const word = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(word)) return true;
      if (['false', '0', 'no', 'off'].includes(word)) return false;
      return text;
    }
    case 'peers':
      try {
        return parsePeerList(text);
      } catch (e) {
        if (e instanceof PeerSyntaxError) throw new ConfigError(`invalid configuration: peers = ${JSON.stringify(text)} (from ${origin}): ${e.message}`);
        throw e;
      }
    default:
      return text;
  }
}

function envLayer(env: Record<string, string | undefined>): Layer {
  const values: Record<string, unknown> = {};
  for (const field of CONFIG_FIELD_NAMES) {
    const text = env[envVarName(field)];
    if (text !== undefined && text !== '') values[field] = convertText(field, text, `env ${envVarName(field)}`);
  }
  return { values, origin: (f) => `env ${envVarName(f as ConfigFieldName)}` };
}

function flagLayer(flags: Record<string, unknown>): Layer {
  const values: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    if (!(CONFIG_FIELD_NAMES as string[]).includes(field)) {
      throw new ConfigError(`invalid configuration: unknown flag ${field}`);
    }
    const origin = `flag ${flagName(field as ConfigFieldName)}`;
    values[field] = typeof value === 'string' ? convertText(field as ConfigFieldName, value, origin) : value;
  }
  return { values, origin: (f) => `flag ${flagName(f as ConfigFieldName)}` };
}

function fileLayer(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return { values: parsed as Record<string, unknown>, origin: () => `config file ${path}` };
}

export interface LoadConfigOptions {
  /** path of a JSON config file (`--config`) */
  file?: string;
  /** environment to read RINGKV_* variables from; pass {} to ignore the process environment */
  env?: Record<string, string | undefined>;
  /** command-line flags keyed by field name (commander's camelCase), strings or typed values */
  flags?: Record<string, unknown>;
}

/** Merges the sources and validates the result; throws ConfigError naming every bad field. */
export function loadConfig(opts: LoadConfigOptions = {}): RingkvConfig {
  const layers: Layer[] = [];
  if (opts.file !== undefined) layers.push(fileLayer(opts.file));
  layers.push(envLayer(opts.env ?? {}));
  layers.push(flagLayer(opts.flags ?? {}));

  const merged: Record<string, unknown> = {};
  const originOf = new Map<string, string>();
  for (const layer of layers) {
    for (const [field, value] of Object.entries(layer.values)) {
      merged[field] = value;
      originOf.set(field, layer.origin(field));
    }
  }

  const result = configSchema.safeParse(merged);
  if (result.success) return result.data;

  const lines = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length > 0 ? ` in ${formatPath(issue.path)}` : '';
      const origin = originOf.get(String(issue.keys[0])) ?? originOf.get(String(issue.path[0])) ?? 'config';
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${where} (from ${origin})`;
    }
    const field = String(issue.path[0] ?? '');
    const value = SECRET_FIELDS.has(field) ? HIDDEN : valueAt(merged, issue.path);
    const origin = originOf.get(field) ?? 'default';
    return `${formatPath(issue.path)} = ${formatValue(value)} (from ${origin}): ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** their values never appear in an error message */
const SECRET_FIELDS = new Set(['clusterSecret', 'password']);
const HIDDEN = Symbol('hidden');

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function formatValue(v: unknown): string {
  if (v === undefined) return '(missing)';
  if (v === HIDDEN) return '(hidden)';
  const json = JSON.stringify(v);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
