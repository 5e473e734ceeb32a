import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../src/identity/proof.js';
import { UserProxy } from '../../src/proxy/index.js';
import { alive, SpawnerHarness } from './harness.js';

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

describe('Spawner and UserProxy with the real `bin/flotilla server`', () => {
  let h: SpawnerHarness;
  let hub: Server | undefined;
  let proxy: UserProxy | undefined;
  afterAll(async () => {
    hub?.closeAllConnections();
    hub?.close();
    proxy?.close();
    await h?.cleanup();
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
    const server = createServer((req, res) => proxy!.web(req, res, 'alice', owner));
    hub = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
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
});
