import { realpath, stat } from 'node:fs/promises';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a stat result that decide access (no ACLs: Flotilla sets none and reads none). */
export interface AccessStat {
  uid: number;
  gid: number;
  mode: number;
}

/** What a process needs on a path: r 4, w 2, x 1 (x on a folder: pass through it). */
export type Want = 4 | 1 | 5;

const WANT_WORDS: Record<Want, string> = { 4: 'read', 1: 'pass through (x)', 5: 'read and pass through (r-x)' };

/**
 * Whether a process with exactly `uid` and `gid` (a server starts with no supplementary
 * groups) may do `want` on a file with `st`: the owner bits if it owns it, else the group bits
 * if its gid is the file's group, else the other bits, as the kernel decides.
 */
export function permits(st: AccessStat, who: { uid: number; gid: number }, want: Want): boolean {
  const shift = st.uid === who.uid ? 6 : st.gid === who.gid ? 3 : 0;
  return ((st.mode >> shift) & want) === want;
}

/** One path a server must reach, and how. */
export interface Requirement {
  path: string;
  want: Want;
}

/** The installation a server runs from: node, bin/flotilla and what it loads. */
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** What a server needs, before folders along the way: node, the code, its templates and assets, and the way to the owner's folder. */
export function serverRequirements(dataDir: string): Requirement[] {
  return [
    { path: process.execPath, want: 1 },
    { path: join(REPO, 'bin', 'flotilla'), want: 4 },
    { path: join(REPO, 'dist'), want: 5 },
    { path: join(REPO, 'dist', 'bundle', 'main.js'), want: 4 },
    { path: join(REPO, 'node_modules'), want: 5 },
    { path: join(REPO, 'views'), want: 5 },
    { path: join(REPO, 'static'), want: 5 },
    { path: join(dataDir, 'users'), want: 1 },
  ];
}

/** Every folder from `/` down to `path`'s parent. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  const root = parse(path).root;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    out.unshift(dir);
    if (dir === root) return out;
  }
}

/** The requirements with every folder on the way (x), for the path as named and, through
 * symbolic links, as it really is. */
async function expand(requirements: Requirement[]): Promise<Requirement[]> {
  const all = new Map<string, Want>();
  const add = (path: string, want: Want) => all.set(path, ((all.get(path) ?? 0) | want) as Want);
  for (const { path, want } of requirements) {
    const real = await realpath(path).catch(() => path);
    for (const named of new Set([path, real])) {
      for (const dir of ancestors(named)) add(dir, 1);
    }
    add(real, want);
  }
  return [...all].map(([path, want]) => ({ path, want }));
}

export class InstallationError extends Error {
  override name = 'InstallationError';
}

/**
 * Checks, before a server starts as some uid, that the uid can reach everything it needs, so
 * a missing permission is named instead of surfacing as "Cannot find module". Successes are
 * remembered per uid and gid; failures are checked again at the next start (someone may fix them).
 */
export class InstallationCheck {
  private readonly passed = new Set<string>();

  constructor(private readonly requirements: Requirement[]) {}

  async check(owner: string, who: { uid: number; gid: number }): Promise<void> {
    const key = `${who.uid}:${who.gid}`;
    if (this.passed.has(key)) return;
    for (const { path, want } of await expand(this.requirements)) {
      let st: AccessStat;
      try {
        st = await stat(path);
      } catch (err) {
        throw new InstallationError(`the workflow server of "${owner}" needs ${path}, which is missing (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (!permits(st, who, want)) {
        throw new InstallationError(
          `the workflow server of "${owner}" runs as uid ${who.uid} (gid ${who.gid}), which cannot ${WANT_WORDS[want]} ${path} ` +
            `(mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${st.uid}, group gid ${st.gid}); ` +
            `make the installation readable by every account (e.g. chmod o+${want === 1 ? 'x' : want === 4 ? 'r' : 'rx'} ${path}) ` +
            'or install Flotilla where it is',
        );
      }
    }
    this.passed.add(key);
  }
}
