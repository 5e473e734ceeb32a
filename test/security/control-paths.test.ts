/**
 * The hub's own identity (user null) may use only /_flotilla/…, and users never may. Express
 * routes without regard to case, so the check must too: a user's proof for /_FLOTILLA/membership
 * must not reach the membership endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/helpers.js';

describe('control endpoints and letter case', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { default: 'READ' } } } });
  });
  afterAll(() => server.close());

  it.each(['/_FLOTILLA/health', '/_Flotilla/health', '/_flotilla/HEALTH'])('refuses a user (even the owner) at %s', async (target) => {
    const res = await server.get({ user: 'alice' }, target);
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('"status":"ok"');
  });

  it('refuses a user pushing membership through another spelling of the path', async () => {
    const res = await server.put({ user: 'bob' }, '/_FLOTILLA/membership').send({ groups: { ops: ['bob'] } });
    expect(res.status).toBe(403);
  });

  it('still serves the hub at its own path, in any case express routes', async () => {
    expect((await server.get({ user: null }, '/_flotilla/health')).status).toBe(200);
    expect((await server.get({ user: null }, '/_FLOTILLA/health')).status).toBe(200);
  });
});
