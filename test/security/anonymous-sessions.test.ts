/**
 * Anonymous visitors store nothing: the sign-in form's XSRF token lives in a cookie signed with
 * the cookie secret (double submit), not in a session row that anyone could mass-produce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { cookieValue, PASSWORDS, startHub, xsrfFrom, type HubFixture } from '../hub/helpers.js';

const FORM_COOKIE = 'flotilla-login-xsrf';

describe('the sign-in form without sessions', () => {
  let f: HubFixture;
  let db: Database.Database;
  const sessionRows = () => (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;

  beforeAll(async () => {
    f = await startHub();
    db = new Database(join(f.dir, 'hub.sqlite'), { readonly: true });
  });
  afterAll(async () => {
    db.close();
    await f.close();
  });

  /** A fresh visit to the form: its token and the cookie that goes with it. */
  async function visit(): Promise<{ xsrf: string; cookie: string }> {
    const page = await request(f.url).get('/hub/login');
    expect(page.status).toBe(200);
    return { xsrf: xsrfFrom(page.text), cookie: `${FORM_COOKIE}=${cookieValue(page.headers['set-cookie'], FORM_COOKIE)}` };
  }

  const post = (cookie: string | undefined, fields: Record<string, string>) => {
    const req = request(f.url).post('/hub/login').type('form');
    if (cookie) req.set('Cookie', cookie);
    return req.send(fields);
  };

  it('1,000 anonymous GET /hub/login add no session row', async () => {
    const before = sessionRows();
    const rounds = 20;
    const perRound = 50;
    for (let round = 0; round < rounds; round++) {
      // fetch keeps connections alive: the rounds measure the hub, not connection set-up.
      const pages = await Promise.all(Array.from({ length: perRound }, () => fetch(`${f.url}/hub/login`)));
      for (const page of pages) {
        expect(page.status).toBe(200);
        expect(cookieValue(page.headers.getSetCookie(), SESSION_COOKIE)).toBeUndefined();
        await page.arrayBuffer();
      }
    }
    expect(sessionRows()).toBe(before);
  }, 120_000);

  it('signs in with the token and cookie of the same visit, making the first session row', async () => {
    const before = sessionRows();
    const { xsrf, cookie } = await visit();
    const res = await post(cookie, { _xsrf: xsrf, username: 'alice', password: PASSWORDS.alice! });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/hub/home');
    // The form's cookie has served; the session takes over.
    expect(res.headers['set-cookie']).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${FORM_COOKIE}=;`))]));
    expect(sessionRows()).toBe(before + 1);
  });

  it('refuses a token without its cookie, with another visit\'s cookie, or with a forged cookie', async () => {
    const mine = await visit();
    const theirs = await visit();
    const fields = { _xsrf: mine.xsrf, username: 'alice', password: PASSWORDS.alice! };
    expect((await post(undefined, fields)).status).toBe(403);
    expect((await post(theirs.cookie, fields)).status).toBe(403);
    // The cookie's token changed to match the form, keeping the original signature.
    const [, issued, mac] = mine.cookie.slice(FORM_COOKIE.length + 1).split('.');
    const other = 'A'.repeat(43);
    expect((await post(`${FORM_COOKIE}=${other}.${issued}.${mac}`, { ...fields, _xsrf: other })).status).toBe(403);
    // An issue time moved forward under the same signature.
    const [token] = mine.cookie.slice(FORM_COOKIE.length + 1).split('.');
    expect((await post(`${FORM_COOKIE}=${token}.${Number(issued) + 1}.${mac}`, fields)).status).toBe(403);
    const refused = await post(mine.cookie, { ...fields, _xsrf: theirs.xsrf });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('This sign-in form has expired');
    // The right pair still works.
    expect((await post(mine.cookie, fields)).status).toBe(302);
  });

  it('keeps one token for forms open in several tabs of the same browser', async () => {
    const agent = f.agent();
    const first = xsrfFrom((await agent.get('/hub/login')).text);
    const second = xsrfFrom((await agent.get('/hub/login')).text);
    expect(second).toBe(first);
    const res = await agent.post('/hub/login').type('form').send({ _xsrf: first, username: 'bob', password: PASSWORDS.bob });
    expect(res.status).toBe(302);
  });
});
