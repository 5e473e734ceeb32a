import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic-write.js';

export class CookieSecretError extends Error {
  override name = 'CookieSecretError';
}

/**
 * The secret that signs session cookies: read from `file`, or created there (mode 0600) on first
 * start. A file that group or others can read is refused: anyone holding it could forge sessions.
 */
export function loadCookieSecret(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, randomBytes(32).toString('hex') + '\n', 0o600);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CookieSecretError(
      `cookie secret file ${file} is readable or writable by group or others (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `run: chmod 600 ${file}`,
    );
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) {
    throw new CookieSecretError(`cookie secret file ${file} holds fewer than 32 characters; delete it to have a new one created`);
  }
  return secret;
}
