import bcrypt from 'bcryptjs';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AccountExistsError, HtpasswdError, HtpasswdFile } from '../../src/htpasswd/index.js';
import { useTempDir } from '../config/temp-dir.js';

// Cost 4 keeps the tests quick; the default (12) is checked once on its own.
const COST = 4;
const tempDir = useTempDir('htpasswd');
let dir = '';
let path = '';
beforeEach(() => void ((dir = tempDir()), (path = join(dir, 'htpasswd'))));

async function errorOf(action: () => unknown): Promise<Error> {
  try {
    await action();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('HtpasswdFile', () => {
  it('adds, lists, verifies and removes, writing $2y$ hashes', async () => {
    const file = new HtpasswdFile(path);
    expect(file.list()).toEqual([]);
    expect(await file.add('alice', 'correct horse', COST)).toBe('added');
    expect(await file.add('bob', 'battery staple', COST)).toBe('added');
    expect(file.list()).toEqual(['alice', 'bob']);
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(/^alice:\$2y\$04\$[./A-Za-z0-9]{53}\nbob:\$2y\$04\$[./A-Za-z0-9]{53}\n$/);
    expect(await file.verify('alice', 'correct horse')).toBe(true);
    expect(await file.verify('alice', 'battery staple')).toBe(false);
    expect(await new HtpasswdFile(path).verify('bob', 'battery staple')).toBe(true);
    expect(file.remove('alice')).toBe(true);
    expect(file.remove('alice')).toBe(false);
    expect(file.list()).toEqual(['bob']);
    expect(await file.verify('alice', 'correct horse')).toBe(false);
  });

  it('uses cost 12 by default', async () => {
    const file = new HtpasswdFile(path);
    await file.add('alice', 'pw');
    expect(file.read().get('alice')).toMatch(/^\$2y\$12\$/);
  });

  it('with replace: false, refuses a user already in the file, even one added during the hashing', async () => {
    const file = new HtpasswdFile(path);
    // Both adds hash first; the one that writes second must see the first's line.
    const outcomes = await Promise.allSettled([file.add('alice', 'one', COST, { replace: false }), new HtpasswdFile(path).add('alice', 'two', COST, { replace: false })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!.reason as Error;
    expect(refused).toBeInstanceOf(AccountExistsError);
    expect(refused.message).toBe('alice already has an account');
    expect(file.list()).toEqual(['alice']);
    const kept = outcomes[0]!.status === 'fulfilled' ? 'one' : 'two';
    expect(await file.verify('alice', kept)).toBe(true);
  });

  it('replaces an existing user in place, keeping comments, blank lines and order', async () => {
    const other = await bcrypt.hash('old', COST);
    writeFileSync(path, `# managed by hand\nalice:${other}\n\ncarol:${other}\n`);
    const file = new HtpasswdFile(path);
    expect(await file.add('alice', 'new', COST)).toBe('replaced');
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines[0]).toBe('# managed by hand');
    expect(lines[1]).toMatch(/^alice:\$2y\$04\$/);
    expect(lines.slice(2)).toEqual(['', `carol:${other}`, '']);
    expect(await file.verify('alice', 'new')).toBe(true);
    expect(await file.verify('alice', 'old')).toBe(false);
  });

  it('reads $2y$, $2b$ and $2a$ hashes', async () => {
    const b = await bcrypt.hash('pw-b', COST);
    expect(b.startsWith('$2b$')).toBe(true);
    const a = `$2a$${(await bcrypt.hash('pw-a', COST)).slice(4)}`;
    const y = `$2y$${(await bcrypt.hash('pw-y', COST)).slice(4)}`;
    writeFileSync(path, `b:${b}\na:${a}\ny:${y}\n`);
    const file = new HtpasswdFile(path);
    expect(await file.verify('b', 'pw-b')).toBe(true);
    expect(await file.verify('a', 'pw-a')).toBe(true);
    expect(await file.verify('y', 'pw-y')).toBe(true);
    expect(await file.verify('y', 'pw-b')).toBe(false);
  });

  it('never verifies a hash that is not bcrypt, and never throws for unknown users or broken files', async () => {
    writeFileSync(path, 'md5:$apr1$abcdefgh$0123456789abcdefghijkl\nplain:secret\n');
    const file = new HtpasswdFile(path);
    expect(file.list()).toEqual(['md5', 'plain']);
    expect(await file.verify('plain', 'secret')).toBe(false);
    expect(await file.verify('md5', 'anything')).toBe(false);
    expect(await file.verify('nobody', 'secret')).toBe(false);
    writeFileSync(path, 'garbage line\n');
    expect(await file.verify('plain', 'secret')).toBe(false);
    expect(await new HtpasswdFile(join(dir, 'missing')).verify('alice', 'pw')).toBe(false);
  });

  it('reports a malformed line with the file and line number', async () => {
    writeFileSync(path, '# header\nalice:$2y$04$abc\n\nnot an entry\n');
    expect(() => new HtpasswdFile(path).read()).toThrow(new HtpasswdError(`${path}: line 4: expected "user:hash"`));
    writeFileSync(path, 'alice:\n');
    expect(() => new HtpasswdFile(path).list()).toThrow(`${path}: line 1: user "alice" has no hash`);
    writeFileSync(path, 'alice:x\nbob:y\nalice:z\n');
    expect(() => new HtpasswdFile(path).list()).toThrow(`${path}: line 3: user "alice" appears again (first on line 1)`);
    writeFileSync(path, ':hash\n');
    expect(() => new HtpasswdFile(path).list()).toThrow(`${path}: line 1: expected "user:hash"`);
  });

  it('keeps the good accounts working past bad lines, each reported with its line', async () => {
    const file = new HtpasswdFile(path);
    await file.add('alice', 'alice pw', COST);
    await file.add('bob', 'bob pw', COST);
    const bob = readFileSync(path, 'utf8').split('\n')[1]!;
    writeFileSync(path, `${readFileSync(path, 'utf8')}not an entry\ncarol:${bob.slice(4, 40)}\nmd5:$apr1$abcdefgh$0123456789abcdefghijkl\nalice:again\n`);
    const { hashes, problems } = file.accounts();
    expect([...hashes.keys()]).toEqual(['alice', 'bob']);
    expect(problems).toEqual([
      `${path}: line 3: expected "user:hash"`,
      `${path}: line 4: user "carol" has an incomplete bcrypt hash (36 characters instead of 60: truncated?); set the password again with bin/flotilla passwd add`,
      `${path}: line 5: user "md5" has a hash that is not bcrypt ($2y$…), the only kind supported; set the password again with bin/flotilla passwd add`,
      `${path}: line 6: user "alice" appears again (first on line 1)`,
    ]);
    expect(await file.verify('alice', 'alice pw')).toBe(true);
    expect(await file.verify('bob', 'bob pw')).toBe(true);
    expect(await file.verify('carol', 'bob pw')).toBe(false);
    // Listing and rewriting need the whole file: they still refuse, naming the first bad line.
    expect(() => file.list()).toThrow(`${path}: line 3: expected "user:hash"`);
    await expect(file.add('carol', 'carol pw', COST)).rejects.toThrow(`${path}: line 3: expected "user:hash"`);
  });

  it('checks passwords against the accounts last read while the file cannot be read', async () => {
    const file = new HtpasswdFile(path);
    await file.add('alice', 'alice pw', COST);
    expect(await file.verify('alice', 'alice pw')).toBe(true);
    rmSync(path);
    mkdirSync(path); // a read now fails (EISDIR), as a half-restored or mis-mounted file would
    expect(() => file.accounts()).toThrow(`${path}: cannot read: EISDIR`);
    expect(await file.verify('alice', 'alice pw')).toBe(true);
    expect(await file.verify('alice', 'wrong')).toBe(false);
  });

  it('notices changes made by others', async () => {
    const file = new HtpasswdFile(path);
    await file.add('alice', 'pw', COST);
    expect(file.list()).toEqual(['alice']);
    await new HtpasswdFile(path).add('bob', 'pw', COST);
    expect(file.list()).toEqual(['alice', 'bob']);
    rmSync(path);
    expect(file.list()).toEqual([]);
  });

  it('writes mode 0600, even over a file that was readable by others', async () => {
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    await new HtpasswdFile(path).add('alice', 'pw', COST);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['htpasswd']);
  });

  it('refuses bad names, costs and passwords without echoing the password', async () => {
    const file = new HtpasswdFile(path);
    const secret = 'hunter2-very-secret';
    const badName = await errorOf(() => file.add('../evil', secret, COST));
    expect(badName.message).toMatch(/^invalid user name "\.\.\/evil": names are 1 to 64/);
    const badCost = await errorOf(() => file.add('alice', secret, 3));
    expect(badCost.message).toBe('bcrypt cost must be a whole number from 4 to 17, got 3');
    expect((await errorOf(() => file.add('alice', secret, 18))).message).toContain('from 4 to 17, got 18');
    const long = `${secret}${'x'.repeat(80)}`;
    const tooLong = await errorOf(() => file.add('alice', long, COST));
    expect(tooLong.message).toBe('the password is longer than 72 bytes, which bcrypt would silently cut');
    expect((await errorOf(() => file.add('alice', '', COST))).message).toBe('the password is empty');
    for (const error of [badName, badCost, tooLong]) {
      expect(error).toBeInstanceOf(HtpasswdError);
      expect(error.message).not.toContain(secret);
      expect(String(error.stack)).not.toContain(secret);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});
