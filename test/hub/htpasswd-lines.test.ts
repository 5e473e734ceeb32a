/**
 * One bad htpasswd line signs no one else out: the hub logs it with the file and line, the good
 * accounts go on signing in, and a truncated hash is flagged instead of failing silently.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORDS, startHub, xsrfFrom, type HubFixture } from './helpers.js';

describe('a bad line in the htpasswd file', () => {
  let f: HubFixture;
  let logged = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged += String(chunk);
      done();
    },
  });

  beforeAll(async () => {
    f = await startHub({ logger: pino({ level: 'info' }, sink) });
  });
  afterAll(async () => f?.close());

  async function signIn(username: string, password: string): Promise<number> {
    const agent = f.agent();
    const page = await agent.get('/hub/login');
    const res = await agent.post('/hub/login').type('form').send({ _xsrf: xsrfFrom(page.text), username, password });
    return res.status;
  }

  it('is logged with file and line while the other accounts go on signing in', async () => {
    const file = join(f.dir, 'htpasswd');
    const bobLine = readFileSync(file, 'utf8').split('\n').find((line) => line.startsWith('bob:'))!;
    const lineCount = readFileSync(file, 'utf8').trimEnd().split('\n').length;
    // A stray line and a hash cut short, as an interrupted copy or a bad edit leaves them.
    appendFileSync(file, `stray line without a colon\nzoe:${bobLine.slice(4, 30)}\n`);
    f.hub.context.users.refresh();
    expect(logged).toContain(`${file}: line ${lineCount + 1}: expected \\"user:hash\\"`);
    expect(logged).toContain(`${file}: line ${lineCount + 2}: user \\"zoe\\" has an incomplete bcrypt hash (26 characters instead of 60: truncated?)`);
    expect(await signIn('alice', PASSWORDS.alice!)).toBe(302);
    expect(await signIn('bob', PASSWORDS.bob!)).toBe(302);
    expect(await signIn('zoe', PASSWORDS.bob!)).toBe(403);
    expect(f.hub.context.users.exists('alice')).toBe(true);
    expect(f.hub.context.users.exists('zoe')).toBe(false);
  });
});
