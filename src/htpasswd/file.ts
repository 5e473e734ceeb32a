import { readFileSync, statSync } from 'node:fs';
import { isValidUserName, NAME_RULE } from '../config/names.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { comparePassword, costOf, decoyHash, DEFAULT_COST, hashPassword } from './bcrypt.js';
import { AccountExistsError, HtpasswdError } from './errors.js';
import { formatHtpasswdProblem, parseHtpasswd, serializeHtpasswd, type HtpasswdLine } from './parse.js';

interface Snapshot {
  /** inode, size and mtime: a rewrite (always a rename, so a new inode) changes it. */
  key: string;
  lines: HtpasswdLine[];
  /** Every account line, whatever its hash. */
  hashes: Map<string, string>;
  /** Accounts whose hash is a complete bcrypt hash: the ones that can sign in. */
  usable: Map<string, string>;
  /** Each bad line, as "file: line N: what is wrong". */
  problems: string[];
  /** The first line that is not an account at all: strict readers and rewrites refuse the file. */
  structural: string | undefined;
}

/** The accounts that work and what is wrong with the other lines. */
export interface HtpasswdAccounts {
  hashes: Map<string, string>;
  problems: string[];
}

function fileFailure(path: string, verb: string, err: unknown, after = ''): HtpasswdError {
  return new HtpasswdError(`${path}: cannot ${verb}: ${(err as NodeJS.ErrnoException).code ?? String(err)}${after}`);
}

export interface AddOptions {
  /** Whether a user already in the file gets the new password (true) or an AccountExistsError. */
  replace?: boolean;
}

const EMPTY: Snapshot = { key: 'missing', lines: [], hashes: new Map(), usable: new Map(), problems: [], structural: undefined };

/**
 * An Apache htpasswd file of bcrypt hashes. Reads are cached until the file changes on disk;
 * writes replace the whole file atomically (mode 0600), keeping every other line as it was.
 * A missing file holds no accounts.
 */
export class HtpasswdFile {
  private snapshot: Snapshot = EMPTY;

  constructor(readonly path: string) {}

  /** user → hash, in file order. Throws an HtpasswdError naming the line if the file is malformed. */
  read(): Map<string, string> {
    return new Map(this.strict().hashes);
  }

  list(): string[] {
    return [...this.strict().hashes.keys()];
  }

  /**
   * The accounts that can sign in (complete bcrypt hashes) and every bad line, each naming the
   * file and line: one bad line must not take the others' accounts away. Throws only when the
   * file cannot be read.
   */
  accounts(): HtpasswdAccounts {
    const snapshot = this.load();
    return { hashes: new Map(snapshot.usable), problems: [...snapshot.problems] };
  }

  /**
   * Adds the user, or replaces their hash; resolves to what happened. With `replace: false` a
   * user already in the file is refused with an AccountExistsError instead.
   */
  async add(user: string, password: string, cost = DEFAULT_COST, { replace = true }: AddOptions = {}): Promise<'added' | 'replaced'> {
    const shown = JSON.stringify(user.slice(0, 64));
    if (!isValidUserName(user)) throw new HtpasswdError(`invalid user name ${shown}: ${NAME_RULE}`);
    const hash = await hashPassword(password, cost);
    // Re-read after the slow hashing, and decide and write with no await in between: a change
    // made meanwhile is not lost, and of two adds of one name the second sees the first.
    const lines = [...this.strict().lines];
    const index = lines.findIndex((line) => line.kind === 'entry' && line.user === user);
    if (index !== -1 && !replace) throw new AccountExistsError(`${user} already has an account`);
    if (index === -1) lines.push({ kind: 'entry', user, hash });
    else lines[index] = { kind: 'entry', user, hash };
    this.write(lines);
    return index === -1 ? 'added' : 'replaced';
  }

  /** Removes the user; false if they were not in the file. */
  remove(user: string): boolean {
    const lines = this.strict().lines;
    const kept = lines.filter((line) => !(line.kind === 'entry' && line.user === user));
    if (kept.length === lines.length) return false;
    this.write(kept);
    return true;
  }

  /**
   * True only when the user exists and the password matches. Never throws; an unknown user or a
   * hash that is not bcrypt cost the same bcrypt work as a real check, so that timing does not
   * tell which names exist. Bad lines do not stop the good ones from working, and while the file
   * cannot be read the accounts last read stand.
   */
  async verify(user: string, password: string): Promise<boolean> {
    let hashes: Map<string, string>;
    try {
      hashes = this.load().usable;
    } catch {
      hashes = this.snapshot.usable;
    }
    const hash = hashes.get(user);
    if (hash !== undefined && costOf(hash) !== undefined) return comparePassword(password, hash);
    const sample = hashes.values().next().value;
    const cost = (sample === undefined ? undefined : costOf(sample)) ?? DEFAULT_COST;
    try {
      await comparePassword(password, await decoyHash(cost));
    } catch {
      // the decoy only spends time; its outcome is irrelevant
    }
    return false;
  }

  private load(): Snapshot {
    let key: string;
    try {
      const stat = statSync(this.path);
      key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return (this.snapshot = EMPTY);
      throw fileFailure(this.path, 'read', err);
    }
    if (key === this.snapshot.key) return this.snapshot;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw fileFailure(this.path, 'read', err);
    }
    const { lines, problems } = parseHtpasswd(text);
    const hashes = new Map<string, string>();
    const usable = new Map<string, string>();
    for (const line of lines) {
      if (line.kind !== 'entry') continue;
      hashes.set(line.user, line.hash);
      if (costOf(line.hash) !== undefined) usable.set(line.user, line.hash);
    }
    const structural = problems.find((problem) => problem.structural);
    this.snapshot = {
      key,
      lines,
      hashes,
      usable,
      problems: problems.map((problem) => formatHtpasswdProblem(this.path, problem)),
      structural: structural && formatHtpasswdProblem(this.path, structural),
    };
    return this.snapshot;
  }

  /** The file for readers that must see it whole (listing, rewriting): a bad line is an error. */
  private strict(): Snapshot {
    const snapshot = this.load();
    if (snapshot.structural) throw new HtpasswdError(snapshot.structural);
    return snapshot;
  }

  private write(lines: HtpasswdLine[]): void {
    try {
      writeFileAtomic(this.path, serializeHtpasswd(lines), 0o600);
    } catch (err) {
      // The write goes to a temporary file renamed into place, so a failure leaves the old file.
      throw fileFailure(this.path, 'write', err, '; the file is unchanged');
    }
    // The next read stats the new file and caches it; nothing to keep from here.
    this.snapshot = EMPTY;
  }
}
