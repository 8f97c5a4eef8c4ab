/**
 * Each node's data directory lives on its own small tmpfs, so a "full disk" is real ENOSPC from the
 * kernel: the nemesis fills the free space with a filler file and healing deletes it.
 */
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { must } from './sys.js';

export interface NodeDisk {
  /** the tmpfs mount point */
  mount: string;
  /** the node's --data-dir, inside the mount */
  dataDir: string;
  /** the file that fills the disk while the nemesis is on */
  filler: string;
}

export async function mountNodeDisk(dir: string, sizeMiB: number): Promise<NodeDisk> {
  mkdirSync(dir, { recursive: true });
  await must('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  const disk = { mount: dir, dataDir: join(dir, 'data'), filler: join(dir, 'chaos-filler') };
  mkdirSync(disk.dataDir, { recursive: true });
  return disk;
}

function freeBytes(mount: string): number {
  const s = statfsSync(mount);
  return s.bavail * s.bsize;
}

/** writes the filler until the file system refuses (ENOSPC); returns the bytes written */
export function fillDisk(disk: NodeDisk): number {
  const fd = openSync(disk.filler, 'a');
  let written = 0;
  try {
    // big chunks first, then small ones for the last pages; bounded by the free space seen at the start
    for (const chunkBytes of [1 << 20, 4096]) {
      const chunk = Buffer.alloc(chunkBytes);
      const maxChunks = Math.ceil(freeBytes(disk.mount) / chunkBytes) + 2;
      for (let i = 0; i < maxChunks; i++) {
        try {
          written += writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

export function freeDisk(disk: NodeDisk): void {
  rmSync(disk.filler, { force: true });
}

/** deletes everything in the data directory (the node must be down) */
export function wipeDataDir(disk: NodeDisk): void {
  rmSync(disk.dataDir, { recursive: true, force: true });
  mkdirSync(disk.dataDir, { recursive: true });
}
