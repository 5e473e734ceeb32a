import { BCRYPT_HASH_SHAPE } from './bcrypt.js';

/** A line of the file: an account, or anything else (comment, blank, a bad line) kept as written. */
export type HtpasswdLine = { kind: 'entry'; user: string; hash: string } | { kind: 'other'; text: string };

/** What is wrong with one line, and whether the file's structure is broken (not just one hash). */
export interface HtpasswdProblem {
  line: number;
  message: string;
  /** A line that is not `user:hash` at all, or a user twice: rewriting such a file could lose a line. */
  structural: boolean;
}

export interface ParsedHtpasswd {
  lines: HtpasswdLine[];
  problems: HtpasswdProblem[];
}

/** Why a hash cannot sign anyone in, or undefined when it is a complete bcrypt hash. */
function hashProblem(user: string, hash: string): string | undefined {
  if (BCRYPT_HASH_SHAPE.test(hash)) return undefined;
  const shown = JSON.stringify(user);
  if (/^\$2[aby]\$\d\d\$/.test(hash)) {
    return `user ${shown} has an incomplete bcrypt hash (${hash.length} characters instead of 60: truncated?); set the password again with bin/flotilla passwd add`;
  }
  return `user ${shown} has a hash that is not bcrypt ($2y$…), the only kind supported; set the password again with bin/flotilla passwd add`;
}

/**
 * Splits an htpasswd file into lines. `user:hash` lines are accounts; blank lines and `#`
 * comments are kept so that a rewrite preserves them. Every other line, a second line for the
 * same user, and a hash that is not a complete bcrypt hash are problems naming the line; the
 * lines themselves are kept as written, and the good lines stay usable.
 */
export function parseHtpasswd(text: string): ParsedHtpasswd {
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop();
  const seen = new Map<string, number>();
  const problems: HtpasswdProblem[] = [];
  const lines = raw.map((rawLine, index): HtpasswdLine => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const lineNumber = index + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return { kind: 'other', text: line };
    const bad = (message: string): HtpasswdLine => {
      problems.push({ line: lineNumber, message, structural: true });
      return { kind: 'other', text: line };
    };
    const colon = line.indexOf(':');
    if (colon <= 0) return bad('expected "user:hash"');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (hash === '') return bad(`user ${JSON.stringify(user)} has no hash`);
    const first = seen.get(user);
    if (first !== undefined) return bad(`user ${JSON.stringify(user)} appears again (first on line ${first})`);
    seen.set(user, lineNumber);
    const problem = hashProblem(user, hash);
    if (problem) problems.push({ line: lineNumber, message: problem, structural: false });
    return { kind: 'entry', user, hash };
  });
  return { lines, problems };
}

export function formatHtpasswdProblem(file: string, problem: HtpasswdProblem): string {
  return `${file}: line ${problem.line}: ${problem.message}`;
}

export function serializeHtpasswd(lines: readonly HtpasswdLine[]): string {
  return lines.map((line) => (line.kind === 'entry' ? `${line.user}:${line.hash}` : line.text)).join('\n') + (lines.length > 0 ? '\n' : '');
}
