import { chmodSync, chownSync, constants, lstatSync, mkdirSync, statSync } from 'node:fs';
import { lchown, lstat, mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SystemAccount } from './system-account.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

/** Folders of an owner's tree that nobody else may even list. */
const PRIVATE_FOLDERS = ['workflows', 'runs', '.flotilla'];
/** Kept root-owned: the hub opens it and hands it to the server (see server-process.ts). */
const HUB_OWNED = new Set(['server.log']);

/**
 * Under an isolating mode, owners' servers must pass through `<data_dir>` and `<data_dir>/users`
 * to reach their own folder, but must not list them nor read the hub's files: both folders
 * become root-owned 0711, and the database (with its WAL files) and every secret file root-only.
 */
export function protectHubFiles(dataDir: string, secretFiles: string[]): void {
  const usersDir = join(dataDir, 'users');
  mkdirSync(usersDir, { recursive: true, mode: 0o711 });
  for (const dir of [dataDir, usersDir]) {
    chownSync(dir, 0, 0);
    chmodSync(dir, 0o711);
  }
  const database = join(dataDir, 'hub.sqlite');
  for (const file of [database, `${database}-wal`, `${database}-shm`, ...secretFiles]) protectSecretFile(file);
}

/**
 * A secret file of the hub's own becomes root:root 0600. One owned by another account (an
 * administrator who edits the site file as themself) is left theirs, but must already be
 * closed to group and others: the hub does not take other people's files.
 */
function protectSecretFile(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch {
    return;
  }
  if (st.uid === 0) {
    chownSync(file, 0, 0);
    chmodSync(file, 0o600);
    return;
  }
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(
      `${file} holds the hub's secrets but is owned by uid ${st.uid} and open to group or others (mode ${mode}), ` +
        `so every owner's tasks could read it; run: chmod 600 ${file} (or chown root:root ${file})`,
    );
  }
}

/** What `claimOwnerFolder` did, for the log. */
export interface ClaimResult {
  changed: number;
  /** Paths (relative to the owner folder) left alone because changing them could reach outside it. */
  skipped: string[];
}

/**
 * Makes `<data_dir>/users/<owner>/` and everything in it owned by the owner's account, changing
 * only what is not theirs yet, with mode 0700 on the folder and its private folders.
 *
 * The owner controls the contents of the folder, and may swap a path for a symbolic link while
 * this runs, so every step works on an open descriptor or below `/proc/self/fd/N` (the folder
 * already opened, like openat): nothing is followed out of the tree, symbolic links are skipped,
 * and files with other hard links (which may be someone else's file) are left alone.
 */
export async function claimOwnerFolder(ownerDir: string, account: SystemAccount): Promise<ClaimResult> {
  mkdirSync(ownerDir, { recursive: true, mode: 0o700 });
  if (lstatSync(ownerDir).isSymbolicLink()) throw new Error(`${ownerDir} is a symbolic link; refusing to run a server in it`);
  const root = await open(ownerDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  const result: ClaimResult = { changed: 0, skipped: [] };
  try {
    await claimHandle(root, account, result);
    await root.chmod(0o700);
    await mkdir(`${fdPath(root)}/.flotilla`, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await claimChildren(root, '', account, result, true);
  } finally {
    await root.close();
  }
  return result;
}

function fdPath(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}

async function claimHandle(handle: FileHandle, account: SystemAccount, result: ClaimResult): Promise<void> {
  const st = await handle.stat();
  if (st.uid === account.uid && st.gid === account.gid) return;
  await handle.chown(account.uid, account.gid);
  result.changed += 1;
}

async function claimChildren(dir: FileHandle, relative: string, account: SystemAccount, result: ClaimResult, top: boolean): Promise<void> {
  const base = fdPath(dir);
  for (const name of await readdir(base)) {
    if (top && HUB_OWNED.has(name)) continue;
    const path = `${base}/${name}`;
    const shown = relative ? `${relative}/${name}` : name;
    const st = await lstat(path).catch(() => undefined);
    if (!st || st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      const child = await open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch(() => undefined);
      if (!child) continue;
      try {
        await claimHandle(child, account, result);
        if (top && PRIVATE_FOLDERS.includes(name)) await child.chmod(0o700);
        await claimChildren(child, shown, account, result, false);
      } finally {
        await child.close();
      }
    } else if (st.uid !== account.uid || st.gid !== account.gid) {
      await claimFile(path, shown, st.isFile(), account, result);
    }
  }
}

async function claimFile(path: string, shown: string, regular: boolean, account: SystemAccount, result: ClaimResult): Promise<void> {
  if (!regular) {
    // FIFOs and sockets: lchown never follows the last component, and the folder is pinned.
    await lchown(path, account.uid, account.gid);
    result.changed += 1;
    return;
  }
  // O_NONBLOCK: a FIFO swapped in after lstat must not block the hub.
  const file = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY).catch(() => undefined);
  if (!file) return void result.skipped.push(shown);
  try {
    const st = await file.stat();
    if (!st.isFile() || st.nlink !== 1) return void result.skipped.push(shown);
    await file.chown(account.uid, account.gid);
    result.changed += 1;
  } finally {
    await file.close();
  }
}
