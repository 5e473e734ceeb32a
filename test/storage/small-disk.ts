import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounting needs root; CI runs as root, so there these tests run for real. */
export const IS_ROOT = process.getuid?.() === 0;

export interface SmallDisk {
  dir: string;
  /** Fills the disk, then frees `leaveBytes` so that the next write runs out part-way. */
  fill(leaveBytes?: number): void;
  /** Removes the filler. */
  drain(): void;
  unmount(): void;
}

/** A real, tiny tmpfs under /tmp: writes on it fail with ENOSPC exactly as on a full disk. */
export function mountSmallDisk(sizeKb = 512): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill(leaveBytes = 0) {
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(4096, 0x2e);
      let size = 0;
      try {
        // Bounded: the disk holds sizeKb; a few more rounds cannot be needed.
        for (let i = 0; i < (sizeKb * 1024) / chunk.length + 16; i++) {
          size += writeSync(fd, chunk);
        }
        throw new Error(`the small disk at ${dir} never filled up`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        if (leaveBytes > 0) ftruncateSync(fd, Math.max(0, size - leaveBytes));
        closeSync(fd);
      }
    },
    drain() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
