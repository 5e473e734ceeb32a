/**
 * The WebSocket Origin check compares Origin with the hub's public origins (`public_url`, by
 * default where it listens), never with the Host header, which the sender chooses: a page on
 * another site, or a request with a forged Host, gets no socket with the visitor's cookie.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { cookieValue, signIn, startHub, upgradeStatus, type HubFixture } from '../hub/helpers.js';

// Past the Origin check alice's server is not running: 503. A refused Origin: 403.
const PAST_ORIGIN = 503;
const REFUSED = 403;

async function aliceCookie(f: HubFixture): Promise<string> {
  const { res } = await signIn(f.agent(), 'alice');
  return `${SESSION_COOKIE}=${cookieValue(res.headers['set-cookie'], SESSION_COOKIE)}`;
}

describe('WebSocket Origin without public_url: where the hub listens', () => {
  let f: HubFixture;
  let cookie: string;
  let socketUrl: string;
  beforeAll(async () => {
    f = await startHub();
    cookie = await aliceCookie(f);
    socketUrl = `${f.url.replace('http', 'ws')}/user/alice/subscriptions`;
  });
  afterAll(() => f.close());

  it('accepts the hub\'s own origin', async () => {
    expect(await upgradeStatus(socketUrl, { Cookie: cookie }, f.url)).toBe(PAST_ORIGIN);
  });

  it('refuses an Origin that matches a forged Host header', async () => {
    expect(await upgradeStatus(socketUrl, { Cookie: cookie, Host: 'evil.example' }, 'http://evil.example')).toBe(REFUSED);
    const port = new URL(f.url).port;
    expect(await upgradeStatus(socketUrl, { Cookie: cookie, Host: `evil.example:${port}` }, `http://evil.example:${port}`)).toBe(REFUSED);
  });

  it('refuses another name of the same machine that is not configured (localhost for 127.0.0.1)', async () => {
    const port = new URL(f.url).port;
    expect(await upgradeStatus(socketUrl, { Cookie: cookie, Host: `localhost:${port}` }, `http://localhost:${port}`)).toBe(REFUSED);
  });
});

describe('WebSocket Origin with public_url', () => {
  let f: HubFixture;
  let cookie: string;
  let socketUrl: string;
  beforeAll(async () => {
    f = await startHub({ hub: { public_url: ['https://flotilla.example.org', 'http://localhost:8000'] } });
    cookie = await aliceCookie(f);
    socketUrl = `${f.url.replace('http', 'ws')}/user/alice/subscriptions`;
  });
  afterAll(() => f.close());

  it('accepts each configured origin, whatever the Host', async () => {
    expect(await upgradeStatus(socketUrl, { Cookie: cookie }, 'https://flotilla.example.org')).toBe(PAST_ORIGIN);
    expect(await upgradeStatus(socketUrl, { Cookie: cookie, Host: 'localhost:8000' }, 'http://localhost:8000')).toBe(PAST_ORIGIN);
  });

  it('refuses everything else, the address it listens on included', async () => {
    expect(await upgradeStatus(socketUrl, { Cookie: cookie }, f.url)).toBe(REFUSED);
    expect(await upgradeStatus(socketUrl, { Cookie: cookie }, 'http://flotilla.example.org')).toBe(REFUSED);
    expect(await upgradeStatus(socketUrl, { Cookie: cookie, Host: 'evil.example' }, 'http://evil.example')).toBe(REFUSED);
  });
});
