/**
 * A KvService whose every call goes through admission control first (admission.ts): what the front
 * ends are given, so HTTP and RESP share one node-wide limit and refuse alike (OVERLOADED).
 */
import type { KvService } from '../cluster/kv-service.js';
import type { AdmissionControl } from './admission.js';

/** opts with the timeout left after waiting, when the call waited */
function withRemaining<O extends { timeoutMs?: number }>(opts: O | undefined, remainingMs: number | undefined): O | undefined {
  return remainingMs === undefined ? opts : ({ ...opts, timeoutMs: remainingMs } as O);
}

export function admittedKv(kv: KvService, admission: AdmissionControl): KvService {
  return {
    get: (key, opts) => admission.run(opts?.timeoutMs, (t) => kv.get(key, withRemaining(opts, t))),
    put: (key, value, opts) => admission.run(opts?.timeoutMs, (t) => kv.put(key, value, withRemaining(opts, t))),
    delete: (key, opts) => admission.run(opts?.timeoutMs, (t) => kv.delete(key, withRemaining(opts, t))),
    increment: (key, delta, opts) => admission.run(opts?.timeoutMs, (t) => kv.increment(key, delta, withRemaining(opts, t))),
  };
}
