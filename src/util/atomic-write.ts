import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, basename } from 'node:path';

/** The file-system calls an atomic write makes: a seam so that tests can make them fail or write short. */
export type WriteCalls = Pick<typeof fs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync' | 'mkdirSync'>;

/** A write that did not happen: names the file and why; the previous file is still there, unchanged. */
export class AtomicWriteError extends Error {
  override name = 'AtomicWriteError';

  constructor(
    readonly file: string,
    /** The errno code (ENOSPC, EDQUOT, EACCES, …) when the system gave one. */
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`cannot write ${file}: ${describe(code, cause)}; the previous file is kept unchanged`, { cause });
  }

  /** The disk or the owner's quota is full: the caller may say "507 Insufficient Storage". */
  get diskFull(): boolean {
    return this.code === 'ENOSPC' || this.code === 'EDQUOT';
  }
}

function describe(code: string | undefined, cause: unknown): string {
  if (code === 'ENOSPC') return 'no space left on the device (ENOSPC)';
  if (code === 'EDQUOT') return 'disk quota exceeded (EDQUOT)';
  return cause instanceof Error ? cause.message : String(cause);
}

function writeAll(calls: WriteCalls, fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    const written = calls.writeSync(fd, bytes, offset, bytes.length - offset);
    // A full disk may accept nothing without an error; looping on 0 would never end.
    if (written <= 0) throw Object.assign(new Error('the system accepted no more bytes'), { code: 'ENOSPC' });
    offset += written;
  }
}

/**
 * Makes the rename itself durable: without it a crash can bring back the old content. Best
 * effort: the new content is already in place, so failing the write now would have the caller
 * report an error for a change that happened (and some file systems cannot flush a folder).
 */
function fsyncFolder(calls: WriteCalls, dir: string): void {
  let fd: number | undefined;
  try {
    fd = calls.openSync(dir, 'r');
    calls.fsyncSync(fd);
  } catch {
    // see above: durability of the rename is all that is at stake
  } finally {
    if (fd !== undefined) calls.closeSync(fd);
  }
}

/**
 * Writes a file so that readers see either the old content or the new, never a mix, even after a
 * crash: the data goes to a temporary file in the same directory, written to the last byte (short
 * writes loop), flushed, renamed over the target, and the directory flushed. Any failure removes
 * the temporary file and throws an AtomicWriteError naming the file; the old file stays as it was.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, calls: WriteCalls = fs): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    calls.mkdirSync(dir, { recursive: true });
    fd = calls.openSync(tmp, 'wx', mode);
    writeAll(calls, fd, typeof data === 'string' ? Buffer.from(data) : data);
    calls.fsyncSync(fd);
    calls.closeSync(fd);
    fd = undefined;
    calls.renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        calls.closeSync(fd);
      } catch {
        // the descriptor is gone either way; the write's own error is the one to report
      }
    }
    calls.rmSync(tmp, { force: true });
    throw new AtomicWriteError(path, (err as NodeJS.ErrnoException).code, err);
  }
  fsyncFolder(calls, dir);
}

/**
 * Creates `file` with `content` only if no file of that name exists, all at once: the content is
 * written beside it first and then hard-linked into place, so a reader never sees the file half
 * written and of several racing creators exactly one wins. True when this call created it.
 */
export function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
