/** Throwaway operating-system accounts and process inspection for the tests that run as root. */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

function commandExists(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const isRoot = process.getuid?.() === 0;
export const canManageAccounts = isRoot && commandExists('useradd') && commandExists('userdel') && commandExists('getent');
export const accountsSkipReason = !isRoot ? 'not running as root' : 'useradd, userdel or getent is missing';

export const randomAccountName = () => `flt${Array.from({ length: 6 }, () => String.fromCharCode(97 + randomInt(26))).join('')}`;

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** A system account with its own group and a home folder under `homeParent`. */
export function addAccount(homeParent: string, name = randomAccountName()): Account {
  const home = join(homeParent, `home-${name}`);
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, uid, gid);
  return { name, uid, gid };
}

/** Kills every process of the accounts, then deletes them and their groups. */
export function removeAccounts(accounts: Account[]): void {
  for (const a of accounts) killUid(a.uid);
  for (const a of accounts) {
    // userdel refuses while a killed process of the account is not yet reaped, or while another
    // test holds /etc/passwd's lock: try again for a few seconds (the caller checks it is gone).
    for (let attempt = 0; attempt < 20 && accountExists(a.name); attempt++) {
      try {
        execFileSync('userdel', [a.name], { stdio: 'pipe' });
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
      }
    }
    try {
      execFileSync('getent', ['group', a.name], { stdio: 'ignore' });
      execFileSync('groupdel', [a.name], { stdio: 'pipe' });
    } catch {
      // no group left
    }
  }
}

export function accountExists(name: string): boolean {
  try {
    execFileSync('getent', ['passwd', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The real, effective, saved and filesystem uids of a live process. */
export function statusUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
  return (line ?? '').split(/\s+/).slice(1).map(Number);
}

export function processesOfUid(uid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return statusUids(pid)[0] === uid;
      } catch {
        return false;
      }
    });
}

/** Whether the process's command line or working folder lies under `folder`. */
function worksUnder(pid: number, folder: string): boolean {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder)) return true;
    return readlinkSync(`/proc/${pid}/cwd`).startsWith(folder);
  } catch {
    return false;
  }
}

/**
 * SIGKILL to every process (and process group) running as `uid`; with `within`, only to those
 * whose command line or working folder lies under that folder. Dynamic uids come from one range
 * for every hub, so tests running side by side give their owners the same numbers: killing a
 * dynamic uid's processes unrestricted would kill another test's servers.
 */
export function killUid(uid: number, within?: string): void {
  for (const pid of processesOfUid(uid)) {
    if (within !== undefined && !worksUnder(pid, within)) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
  }
}

/** The first file called `name` below `dir`, depth first. */
export function findFile(dir: string, name: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry.name === name) return path;
  }
  return undefined;
}
