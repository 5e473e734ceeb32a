import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import request from 'supertest';
import { newServerSecret, PROOF_HEADER, PROOF_TTL_MS } from '../../src/identity/proof.js';
import { proofFor, startTestServer, type TestServer } from './helpers.js';

const SITE = { '*': { '*': { default: 'READ' } } };

describe('proof of identity', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, groups: { team: ['bob'] } });
  });
  afterAll(async () => server?.close());

  const profile = () => `${server.base}api/userprofile`;

  it('accepts a valid proof', async () => {
    const res = await server.get({ user: 'bob', groups: ['team'] }, profile()).expect(200);
    expect(res.body).toEqual({ username: 'bob', owner: 'alice', groups: ['team'], permissions: ['read'], workflowPermissions: [] });
  });

  it('answers 401 and nothing else without a proof', async () => {
    const res = await request(server.url).get(profile()).expect(401);
    expect(res.text).toBe('Unauthorized');
  });

  it('never reads identity headers a client sent', async () => {
    await request(server.url)
      .get(profile())
      .set({ 'X-Forwarded-User': 'alice', 'Remote-User': 'alice', 'X-Flotilla-User': 'alice', 'X-Remote-User': 'alice' })
      .expect(401);
  });

  it('refuses a forged proof (another secret)', async () => {
    const forged = proofFor(newServerSecret(), 'alice', { user: 'alice' }, 'GET', profile());
    await request(server.url).get(profile()).set(forged).expect(401);
  });

  it('refuses a tampered proof', async () => {
    const header = server.sign({ user: 'bob' }, 'GET', profile())[PROOF_HEADER]!;
    const [body, mac] = header.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString());
    payload.sub = 'alice';
    const tampered = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${mac}`;
    await request(server.url).get(profile()).set(PROOF_HEADER, tampered).expect(401);
  });

  it('refuses an expired proof', async () => {
    const old = proofFor(server.secret, 'alice', { user: 'alice' }, 'GET', profile(), [], Date.now() - PROOF_TTL_MS - 5_000);
    await request(server.url).get(profile()).set(old).expect(401);
  });

  it('refuses a replayed proof', async () => {
    const headers = server.sign({ user: 'alice' }, 'GET', profile());
    await request(server.url).get(profile()).set(headers).expect(200);
    await request(server.url).get(profile()).set(headers).expect(401);
  });

  it('refuses a proof moved to another target or method', async () => {
    const forProfile = server.sign({ user: 'alice' }, 'GET', profile());
    await request(server.url).get(`${server.base}api/authorization`).set(forProfile).expect(401);
    const forGet = server.sign({ user: 'alice' }, 'GET', `${server.base}api/authorization`);
    await request(server.url).put(`${server.base}api/authorization`).set(forGet).send({}).expect(401);
    // The query string is part of the target too.
    const plain = server.sign({ user: 'alice' }, 'GET', `${server.base}api/authorization/explain?user=bob`);
    await request(server.url).get(`${server.base}api/authorization/explain?user=eve`).set(plain).expect(401);
  });

  it('refuses a proof made for another owner', async () => {
    const other = proofFor(server.secret, 'mallory', { user: 'mallory' }, 'GET', profile());
    await request(server.url).get(profile()).set(other).expect(401);
  });

  it('refuses a user proof for an absolute-form target that express would route to the control endpoints', async () => {
    const target = 'http://127.0.0.1/_flotilla/health';
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(server.url);
      http
        .get({ host: url.hostname, port: url.port, path: target, headers: server.sign({ user: 'alice' }, 'GET', target) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('keeps the hub identity to the control endpoints, and users away from them', async () => {
    const health = await server.get({ user: null }, '/_flotilla/health').expect(200);
    expect(health.body).toEqual({ status: 'ok', owner: 'alice', pid: process.pid });
    await server.get({ user: 'alice' }, '/_flotilla/health').expect(403);
    await server.put({ user: 'alice' }, '/_FLOTILLA/membership').send({ groups: {} }).expect(403);
    await server.get({ user: null }, profile()).expect(403);
    await request(server.url).get('/_flotilla/health').expect(401);
  });

  it('answers 404 outside its base path, only after the proof', async () => {
    await request(server.url).get('/user/bob/').expect(401);
    await server.get({ user: 'alice' }, '/user/bob/').expect(404);
  });
});
