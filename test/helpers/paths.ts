/** Paths of the repository for tests that run from source (tsx) or compiled (dist/test). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const compiled = here.includes('/dist/test/');

/** the repository's root directory */
export const repoRoot = compiled ? join(here, '..', '..', '..', '..') : join(here, '..', '..', '..');

/** how to run the CLI: dist/src/cli/main.js, or main.ts under tsx */
export const cliArgs: string[] = compiled ? [join(repoRoot, 'dist', 'src', 'cli', 'main.js')] : ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts')];
