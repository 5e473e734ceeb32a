import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Identity } from '../../src/identity/proof.js';
import { UserProxy } from '../../src/proxy/index.js';
import { flotillaServerArgv, serverLogPath } from '../../src/spawner/index.js';
import { alive, SpawnerHarness, waitFor } from './harness.js';

const BREAK_GRAPHQL = fileURLToPath(new URL('./fixtures/break-graphql.mjs', import.meta.url));

function get(port: number, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false, headers: { accept: 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    })
      .on('error', reject)
      .end();
  });
}

/** A GraphQL query; whatever comes back (or a connection that breaks) is of no interest here. */
function postGraphql(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume().on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.end(JSON.stringify({ query: '{ workflows { id } }' }));
  });
}

/** A hub-like front for `spawner`'s servers, reaching them as `owner` through the real proxy. */
async function hubFor(proxy: UserProxy, owner: Identity): Promise<Server> {
  const server = createServer((req, res) => proxy.web(req, res, owner.owner, owner));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

describe('Spawner and UserProxy with the real `bin/flotilla server`', () => {
  let h: SpawnerHarness | undefined;
  let hub: Server | undefined;
  let proxy: UserProxy | undefined;
  afterEach(async () => {
    hub?.closeAllConnections();
    hub?.close();
    proxy?.close();
    await h?.cleanup();
    h = undefined;
    hub = undefined;
    proxy = undefined;
  });

  it('starts it, reaches it through the proxy, hands it to a new hub, and stops it', async () => {
    h = new SpawnerHarness();
    // The default command line: bin/flotilla server, no fixture.
    const first = h.spawner({ serverArgv: undefined, stopGraceMs: 10_000 });
    const info = await first.start('alice');
    h.track(info.pid);
    await first.pushMembership({ ops: ['alice', 'bob'] });

    proxy = new UserProxy({ spawner: first, sessionCookieName: 'flotilla-session', unavailable: (_req, res) => res.writeHead(503).end() });
    const owner: Identity = { user: 'alice', groups: ['ops'], owner: 'alice', ownerGroups: ['ops'], via: 'token' };
    const server = await hubFor(proxy, owner);
    hub = server;
    const profile = await get((server.address() as AddressInfo).port, '/user/alice/api/userprofile');
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ username: 'alice', owner: 'alice' });
    first.close();

    const second = h.spawner({ serverArgv: undefined, stopGraceMs: 10_000 });
    await second.adoptAll();
    expect(second.info('alice')?.pid).toBe(info.pid);
    await second.stop('alice');
    expect(alive(info.pid)).toBe(false);
    expect(h.recordedPids()).toEqual([]);
  });

  it('stops with exit code 70, saying why, when GraphQL cannot be loaded', async () => {
    h = new SpawnerHarness();
    const exits: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void exits.push(...[JSON.parse(line)].filter((e) => e.msg === 'workflow server exited').map((e) => e.code)) });
    const spawner = h.spawner({ serverArgv: (l) => ['--import', BREAK_GRAPHQL, ...flotillaServerArgv(l)], stopGraceMs: 10_000, logger });
    const info = await spawner.start('alice');
    h.track(info.pid);
    proxy = new UserProxy({ spawner, sessionCookieName: 'flotilla-session', unavailable: (_req, res) => res.writeHead(503).end() });
    hub = await hubFor(proxy, { user: 'alice', groups: [], owner: 'alice', ownerGroups: [], via: 'token' });
    const port = (hub.address() as AddressInfo).port;
    // Answers that need no GraphQL still come; the first GraphQL request finds it cannot be loaded.
    expect((await get(port, '/user/alice/api/userprofile')).status).toBe(200);
    await postGraphql(port, '/user/alice/graphql');
    await waitFor('the server to exit', () => exits.length > 0);
    expect(exits).toEqual([70]);
    expect(alive(info.pid)).toBe(false);
    expect(readFileSync(serverLogPath(h.dataDir, 'alice'), 'utf8')).toContain('GraphQL could not be loaded (graphql/schema.js: damaged installation)');
  });
});
