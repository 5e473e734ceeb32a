import { HtpasswdError } from './errors.js';

/** A line of the file: an account, or anything else (comment, blank) kept as written. */
export type HtpasswdLine = { kind: 'entry'; user: string; hash: string } | { kind: 'other'; text: string };

/**
 * Splits an htpasswd file into lines. `user:hash` lines are accounts; blank lines and `#`
 * comments are kept so that a rewrite preserves them. Anything else is an error naming the line:
 * a file we cannot read exactly must not be half-used.
 */
export function parseHtpasswd(text: string, file: string): HtpasswdLine[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, number>();
  return lines.map((raw, index): HtpasswdLine => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNumber = index + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return { kind: 'other', text: line };
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(`${file}: line ${lineNumber}: expected "user:hash"`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (hash === '') throw new HtpasswdError(`${file}: line ${lineNumber}: user ${JSON.stringify(user)} has no hash`);
    const first = seen.get(user);
    if (first !== undefined) {
      throw new HtpasswdError(`${file}: line ${lineNumber}: user ${JSON.stringify(user)} appears again (first on line ${first})`);
    }
    seen.set(user, lineNumber);
    return { kind: 'entry', user, hash };
  });
}

export function serializeHtpasswd(lines: readonly HtpasswdLine[]): string {
  return lines.map((line) => (line.kind === 'entry' ? `${line.user}:${line.hash}` : line.text)).join('\n') + (lines.length > 0 ? '\n' : '');
}
