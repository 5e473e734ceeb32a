import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { useTempDir } from '../config/temp-dir.js';
import { runFlotilla } from '../config/run-flotilla.js';

const HTPASSWD = '/usr/bin/htpasswd';
const haveApache = existsSync(HTPASSWD);
const run = promisify(execFile);

if (!haveApache) {
  console.warn(`SKIPPED: Apache compatibility tests need ${HTPASSWD} (apt-get install apache2-utils)`);
}

/** Apache's own check; exit status 0 means it accepted the password. */
async function apacheVerifies(file: string, user: string, password: string): Promise<boolean> {
  try {
    await run(HTPASSWD, ['-vb', file, user, password]);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!haveApache)(`compatibility with Apache's htpasswd (${HTPASSWD})`, { timeout: 120_000 }, () => {
  const tempDir = useTempDir('apache');
  let file = '';
  beforeEach(() => void (file = join(tempDir(), 'htpasswd')));

  it('Apache verifies what we write', async () => {
    await new HtpasswdFile(file).add('alice', 'pässwörd with spaces', 5);
    const added = await runFlotilla(['passwd', 'add', '--file', file, '--cost', '4', '--password-stdin', 'bob'], { input: 'b0b!\n' });
    expect(added.code).toBe(0);
    expect(await apacheVerifies(file, 'alice', 'pässwörd with spaces')).toBe(true);
    expect(await apacheVerifies(file, 'bob', 'b0b!')).toBe(true);
    expect(await apacheVerifies(file, 'alice', 'wrong')).toBe(false);
  });

  it('we verify what Apache writes, and keep its lines when we change the file', async () => {
    const { stdout } = await run(HTPASSWD, ['-nbB', '-C', '5', 'carol', 'from apache']);
    writeFileSync(file, stdout.trim() + '\n');
    expect(readFileSync(file, 'utf8')).toMatch(/^carol:\$2y\$05\$/);
    expect(await new HtpasswdFile(file).verify('carol', 'from apache')).toBe(true);
    expect(await new HtpasswdFile(file).verify('carol', 'other')).toBe(false);
    const cli = await runFlotilla(['passwd', 'verify', '--file', file, '--password-stdin', 'carol'], { input: 'from apache\n' });
    expect(cli.code).toBe(0);
    await run(HTPASSWD, ['-bB', '-C', '4', file, 'dave', 'dave-pw']);
    await new HtpasswdFile(file).add('erin', 'erin-pw', 4);
    expect(new HtpasswdFile(file).list()).toEqual(['carol', 'dave', 'erin']);
    expect(await apacheVerifies(file, 'carol', 'from apache')).toBe(true);
    expect(await apacheVerifies(file, 'dave', 'dave-pw')).toBe(true);
    expect(await apacheVerifies(file, 'erin', 'erin-pw')).toBe(true);
  });
});
