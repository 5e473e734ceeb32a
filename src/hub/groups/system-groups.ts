import { execFile } from 'node:child_process';
import { isValidUserName } from '../../config/names.js';

/**
 * The operating system's groups of the account with this name (`id -Gn USER`); none when there is
 * no such account. Names that are not valid hub names are left out: they could not appear in
 * any configuration anyway.
 */
export function systemGroupsOf(user: string): Promise<string[]> {
  return new Promise((resolve) => {
    execFile('id', ['-Gn', '--', user], { timeout: 5_000 }, (err, stdout) => {
      if (err) {
        resolve([]);
        return;
      }
      resolve(stdout.split(/\s+/).filter((g) => g !== '' && isValidUserName(g)));
    });
  });
}
