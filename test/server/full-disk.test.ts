/**
 * A sharing PUT on a full disk, through a real workflow server whose data directory is a small
 * tmpfs (root only, as in CI): the PUT answers 507 and the owner's previous sharing stays, in
 * the file and in every live decision.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, mountSmallDisk, type SmallDisk } from '../storage/small-disk.js';
import { startTestServer, type TestServer } from './helpers.js';

describe.runIf(IS_ROOT)('sharing on a full disk', () => {
  let disk: SmallDisk;
  let server: TestServer;
  const owner = { user: 'alice', xsrf: 'xsrf-token-full' };
  const bob = { user: 'bob' };

  beforeAll(async () => {
    disk = mountSmallDisk(2048);
    server = await startTestServer({ owner: 'alice', dataDir: disk.dir, site: { '*': { '*': { limit: 'ALL' } } }, ua: { bob: ['READ', 'pause'] } });
  });
  afterAll(async () => {
    await server?.close();
    disk?.unmount();
  });

  it('answers 507 naming the file, and keeps the previous sharing on disk and in decisions', async () => {
    const before = readFileSync(server.ownerFile);
    const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`user${i}`, ['READ', 'CONTROL']]));
    disk.fill(4096);
    try {
      const res = await server.put(owner, `${server.base}api/authorization`).send({ ...many, bob: ['!ALL'] }).expect(507);
      expect(res.body.error).toContain(server.ownerFile);
      expect(res.body.error).toContain('no space left');
      expect(res.body.error).toContain('previous file is kept');
      expect(readFileSync(server.ownerFile).equals(before)).toBe(true);
      const profile = await server.get(bob, `${server.base}api/userprofile`).expect(200);
      expect(profile.body.permissions).toEqual(['pause', 'read']);
      expect((await server.get(owner, `${server.base}api/authorization`).expect(200)).body).toEqual({ bob: ['read', 'pause'] });
    } finally {
      disk.drain();
    }
    // With room again, the same PUT goes through.
    await server.put(owner, `${server.base}api/authorization`).send({ bob: ['!ALL'] }).expect(200);
    await server.get(bob, `${server.base}api/userprofile`).expect(403);
  });
});
