/**
 * A real browser for page tests: Debian's chromium driven by playwright-core (which downloads
 * nothing). Where no chromium is installed the tests skip with a message — except under CI=true,
 * where that is a failure (.ci/run installs chromium; see required-tool.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import type { Requirement } from './required-tool.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** the chromium to drive ($CHROMIUM_PATH first), or undefined */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** what the browser tests need: a chromium (skip outside CI, fail with CI=true: see required-tool.ts) */
export function chromiumRequirement(): Requirement {
  return { ok: findChromium() !== undefined, message: 'no chromium found (apt-get install chromium, or set CHROMIUM_PATH)' };
}

/** test-artifacts/ at the repository root (ignored by git), created on demand */
export function artifactsDir(): string {
  const dir = join(repoRoot, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}
