/**
 * Tests that need something from the machine (redis-tools, root and network namespaces, ...). Outside
 * CI a missing requirement skips the test with a message; in CI (CI=true), where .ci/run installs
 * everything and runs as root, it fails the test instead, so a broken install cannot pass as skips.
 */
import test, { type TestContext, type TestOptions } from 'node:test';

export const inCi = (): boolean => process.env.CI === 'true';

export interface Requirement {
  /** true when the test can run */
  ok: boolean;
  /** what is missing and how to get it, shown as the skip reason (or the CI failure) */
  message: string;
}


export function testNeeding(name: string, need: Requirement | Requirement[], options: TestOptions, fn: (t: TestContext) => Promise<void> | void): void {
  const missing = (Array.isArray(need) ? need : [need]).find((r) => !r.ok);
  if (!missing) {
    test(name, options, fn);
  } else if (inCi()) {
    test(name, options, () => {
      throw new Error(`${missing.message}; with CI=true this is a failure, not a skip (.ci/run installs what the tests need)`);
    });
  } else {
    test(name, { ...options, skip: missing.message }, fn);
  }
}

/** an outcome decided while the test runs (e.g. a harness exiting 77): skip outside CI, fail in CI */
export function skipOrFailInCi(t: TestContext, message: string): void {
  if (inCi()) throw new Error(`${message}; with CI=true this is a failure, not a skip`);
  t.skip(message);
}
