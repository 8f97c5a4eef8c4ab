/**
 * A real browser for page tests: Debian's chromium driven by playwright-core (which downloads
 * nothing). Where no chromium is installed the tests skip with a message — except under CI=true,
 * where that is a failure (.ci/run installs chromium).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** the chromium to drive ($CHROMIUM_PATH first), or undefined */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** undefined when the browser tests can run; else the skip message (throws under CI=true) */
export function browserSkipReason(): string | undefined {
  if (findChromium() !== undefined) return undefined;
  const why = 'no chromium found (apt-get install chromium, or set CHROMIUM_PATH)';
  if (process.env.CI === 'true') throw new Error(`${why}: in CI the dashboard must be tested in a real browser`);
  return `${why}: skipping the browser tests`;
}

/** test-artifacts/ at the repository root (ignored by git), created on demand */
export function artifactsDir(): string {
  const dir = join(repoRoot, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}
