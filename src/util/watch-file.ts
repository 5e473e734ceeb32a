/**
 * Calls back when a file's content may have changed: created, edited in place, replaced by a
 * rename (as atomic writers and most editors do) or deleted. fs.watch on the folder gives speed;
 * a poll of the file's stat gives certainty where fs.watch is unreliable (network file systems,
 * some containers). Changes are detected by (inode, size, mtime), so a burst of events makes one
 * call. Shared by the server and the scheduler (which may not import from src/server).
 */
import { mkdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

/** What identifies a file's current content without reading it: equal signatures, same file. */
export function fileSignature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

export function watchFile(path: string, onChange: () => void, pollMs = 500): FileWatch {
  let last = fileSignature(path);
  const check = (): void => {
    const now = fileSignature(path);
    if (now === last) return;
    last = now;
    onChange();
  };
  let watcher: FSWatcher | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (name === null || name === basename(path)) check();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(check, pollMs);
  poll.unref();
  return {
    close() {
      clearInterval(poll);
      watcher?.close();
    },
  };
}
