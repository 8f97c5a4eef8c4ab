import { posix } from 'node:path';
import type { FS } from './fs.js';

/**
 * Replaces dir/name atomically and durably: write dir/name.tmp, fsync it, rename it over dir/name,
 * fsync the directory. A crash at any point leaves either the old or the new file.
 */
export async function writeFileAtomic(fs: FS, dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = posix.join(dir, `${name}.tmp`);
  if (await fs.exists(tmp)) await fs.unlink(tmp);
  const handle = await fs.openAppend(tmp);
  try {
    await handle.append(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, posix.join(dir, name));
  await fs.syncDir(dir);
}
