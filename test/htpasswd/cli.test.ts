import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { useTempDir } from '../config/temp-dir.js';
import { REPO, runFlotilla } from '../config/run-flotilla.js';

// Real processes of bin/flotilla; build dist/ first (`npx tsc -p tsconfig.build.json`, done by `npm test`).
const SECRET = 'Tr0ub4dor&3-not-in-argv';
const tempDir = useTempDir('passwd');
let dir = '';
let file = '';
beforeEach(() => void ((dir = tempDir()), (file = join(dir, 'htpasswd'))));

const passwd = (args: string[], input?: string) => runFlotilla(['passwd', ...args], { input });

// Each process loads the whole CLI; on a busy two-core machine that takes seconds, hence the timeout.
describe('flotilla passwd', { timeout: 120_000 }, () => {
  it('adds, lists, verifies, replaces and removes users with --password-stdin', async () => {
    const added = await passwd(['add', '--file', file, '--cost', '4', '--password-stdin', 'alice'], `${SECRET}\n`);
    expect(added).toEqual({ code: 0, stdout: `added alice to ${file}\n`, stderr: '' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^alice:\$2y\$04\$/);
    await passwd(['add', '--file', file, '--cost', '4', '--password-stdin', 'bob'], 'bobs-pw\r\n');

    expect(await passwd(['list', '--file', file])).toEqual({ code: 0, stdout: 'alice\nbob\n', stderr: '' });

    const good = await passwd(['verify', '--file', file, '--password-stdin', 'alice'], `${SECRET}\n`);
    expect(good).toEqual({ code: 0, stdout: 'password for alice is correct\n', stderr: '' });
    const bobGood = await passwd(['verify', '--file', file, '--password-stdin', 'bob'], 'bobs-pw\n');
    expect(bobGood.code).toBe(0);
    const bad = await passwd(['verify', '--file', file, '--password-stdin', 'alice'], 'wrong\n');
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'password verification failed for alice\n' });
    const unknown = await passwd(['verify', '--file', file, '--password-stdin', 'nobody'], `${SECRET}\n`);
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'password verification failed for nobody\n' });

    const replaced = await passwd(['add', '--file', file, '--cost', '4', '--password-stdin', 'alice'], 'second\n');
    expect(replaced.stdout).toBe(`updated the password of alice in ${file}\n`);
    expect(await new HtpasswdFile(file).verify('alice', SECRET)).toBe(false);
    expect(await new HtpasswdFile(file).verify('alice', 'second')).toBe(true);
    expect((await passwd(['list', '--file', file])).stdout).toBe('alice\nbob\n');

    expect(await passwd(['remove', '--file', file, 'alice'])).toEqual({ code: 0, stdout: `removed alice from ${file}\n`, stderr: '' });
    expect(await passwd(['remove', '--file', file, 'alice'])).toEqual({ code: 1, stdout: '', stderr: `flotilla passwd: no user "alice" in ${file}\n` });
    expect((await passwd(['list', '--file', file])).stdout).toBe('bob\n');

    for (const result of [added, good, bad, unknown]) expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('uses cost 12 unless told otherwise', async () => {
    const result = await passwd(['add', '--file', file, '--password-stdin', 'alice'], 'pw\n');
    expect(result.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^alice:\$2y\$12\$/);
  });

  it('never takes the password from argv and refuses to prompt without a terminal', async () => {
    const extra = await passwd(['add', '--file', file, 'alice', SECRET]);
    expect(extra.code).not.toBe(0);
    expect(extra.stderr).toContain('too many arguments');
    const noTty = await passwd(['add', '--file', file, '--cost', '4', 'alice'], `${SECRET}\n`);
    expect(noTty).toEqual({
      code: 1,
      stdout: '',
      stderr: 'flotilla passwd: no terminal to ask for the password on; pipe it in with --password-stdin\n',
    });
    expect(existsSync(file)).toBe(false);
  });

  it('refuses bad input with a clear message and no password in it', async () => {
    const empty = await passwd(['add', '--file', file, '--cost', '4', '--password-stdin', 'alice'], '\n');
    expect(empty).toEqual({ code: 1, stdout: '', stderr: 'flotilla passwd: the password is empty\n' });
    const badName = await passwd(['add', '--file', file, '--cost', '4', '--password-stdin', '../alice'], `${SECRET}\n`);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^flotilla passwd: invalid user name "\.\.\/alice": names are/);
    expect(badName.stderr).not.toContain(SECRET);
    const cost = await passwd(['add', '--file', file, '--cost', '30', '--password-stdin', 'alice'], `${SECRET}\n`);
    expect(cost.code).not.toBe(0);
    expect(cost.stderr).toContain("option '--cost <n>' argument '30' is invalid. expected a whole number from 4 to 17");
    const flag = await passwd(['list', '--file', file, '--all']);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("unknown option '--all'");
    const noFile = await passwd(['list']);
    expect(noFile.code).not.toBe(0);
    expect(noFile.stderr).toContain("required option '--file <file>' not specified");
    const missing = await passwd(['list', '--file', join(dir, 'nope')]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: `flotilla passwd: ${join(dir, 'nope')}: no such file\n` });
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, 'alice:$2y$04$x\nbroken\n');
    const malformed = await passwd(['verify', '--file', file, '--password-stdin', 'alice'], `${SECRET}\n`);
    expect(malformed.code).toBe(1);
    const listMalformed = await passwd(['list', '--file', file]);
    expect(listMalformed).toEqual({ code: 1, stdout: '', stderr: `flotilla passwd: ${file}: line 2: expected "user:hash"\n` });
  });

  it('has --help on every subcommand', async () => {
    for (const sub of ['add', 'remove', 'list', 'verify']) {
      const help = await passwd([sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: flotilla passwd ${sub}`);
      expect(help.stdout).toContain('--file <file>');
    }
    expect((await passwd(['--help'])).stdout).toMatch(/add .*\n.*remove|add[\s\S]*remove[\s\S]*list[\s\S]*verify/);
  });

  it('leaves the old file intact when the write fails', async () => {
    await passwd(['add', '--file', file, '--cost', '4', '--password-stdin', 'alice'], 'pw\n');
    const before = readFileSync(file, 'utf8');
    // A file-size limit of zero makes every write to a regular file fail with EFBIG.
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('sh', ['-c', 'ulimit -f 0; exec "$0" "$@"', process.execPath, join(REPO, 'bin', 'flotilla'), 'passwd', 'add', '--file', file, '--cost', '4', '--password-stdin', 'bob'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
      child.stdin.end('pw\n');
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`flotilla passwd: ${file}: cannot write: EFBIG; the file is unchanged\n`);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(readdirSync(dir)).toEqual(['htpasswd']);
  });
});
