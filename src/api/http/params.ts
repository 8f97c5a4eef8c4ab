/** Query-parameter parsing for the HTTP API; every rejection names the parameter and its value. */
import { RingkvError } from '../../core/errors.js';

/** The longest per-request timeout a client may ask for. */
export const MAX_TIMEOUT_MS = 600_000;

function parseIntegerParam(name: string, raw: unknown, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new RingkvError('BAD_PARAMETER', `${name} was given ${raw.length} times; give it once`);
  const text = String(raw);
  const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new RingkvError('BAD_PARAMETER', `${name} must be an integer in [${min}, ${max}]; got ${JSON.stringify(text)}`, { [name]: text });
  }
  return value;
}

/** r or w: replicas that must answer, 1..n. */
export function parseQuorumParam(name: 'r' | 'w' | 'pr' | 'pw', raw: unknown, n: number): number | undefined {
  return parseIntegerParam(name, raw, 1, n);
}

export function parseTimeoutParam(raw: unknown): number | undefined {
  return parseIntegerParam('timeout_ms', raw, 1, MAX_TIMEOUT_MS);
}
