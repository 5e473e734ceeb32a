/**
 * `next` after sign-in must stay on this hub. URL resolution turns dot segments followed by an
 * empty segment (`/.//evil.com`, `/a/..//evil.com`) into a path starting with `//`, which a
 * browser reads as another host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../../src/hub/auth/next-url.js';
import { signIn, startHub, type HubFixture } from '../hub/helpers.js';

const DOT_SEGMENT_ESCAPES = [
  '/.//evil.com',
  '/..//evil.com',
  '/a/..//evil.com',
  '/hub/../..//evil.com',
  '/%2e//evil.com',
  '/%2e%2e//evil.com',
  '/./%2fevil.com',
  '/.//evil.com/user/alice/',
];

describe('safeNext', () => {
  it.each(DOT_SEGMENT_ESCAPES)('never returns a path that a browser reads as another host: %s', (next) => {
    const target = safeNext(next);
    expect(target.startsWith('/')).toBe(true);
    expect(target.startsWith('//')).toBe(false);
    expect(new URL(target, 'http://hub.example').host).toBe('hub.example');
  });

  it('still keeps ordinary paths on this hub', () => {
    expect(safeNext('/user/alice/workflows/w1?x=1#t')).toBe('/user/alice/workflows/w1?x=1#t');
    expect(safeNext('/hub/admin')).toBe('/hub/admin');
  });
});

describe('sign-in redirects', () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    await hub.close();
  });

  it('does not send a signed-in visitor of /hub/login?next=/.//evil.com off the hub', async () => {
    const agent = hub.agent();
    await signIn(agent, 'bob');
    const res = await agent.get(`/hub/login?next=${encodeURIComponent('/.//evil.com')}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location!, hub.url).origin).toBe(hub.url);
  });

  it('does not send someone who just signed in off the hub', async () => {
    const agent = hub.agent();
    const { res } = await signIn(agent, 'carol', undefined, '/a/..//evil.com');
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location!, hub.url).origin).toBe(hub.url);
  });
});
