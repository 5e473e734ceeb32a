import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { assetBase, assetVersion, moduleImports, staticAssets } from '../../src/util/static-assets.js';

describe('static files under a versioned URL', () => {
  const app = express().use('/hub/static', staticAssets());
  const current = assetVersion();

  it('names the version of their contents in the pages’ URLs', () => {
    expect(current).toMatch(/^v-[0-9a-f]{12}$/);
    expect(assetBase('/hub/static')).toBe(`/hub/static/${current}`);
  });

  it('caches the current version for good, and every module a page imports shares that version', async () => {
    const monitor = await request(app).get(`/hub/static/${current}/js/hub/monitor.js`).expect(200);
    expect(monitor.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // Relative imports resolve below the same versioned prefix: no module of another release.
    expect(monitor.text).toContain("from '../live.js'");
    expect(monitor.text).not.toMatch(/from '\/hub\/static\//);
    const live = await request(app).get(`/hub/static/${current}/js/live.js`).expect(200);
    expect(live.text).toContain("from '../vendor/graphql-ws/client.js'");
  });

  it("serves graphql-ws's browser client and the chunk it imports, and nothing else of the package", async () => {
    const client = await request(app).get(`/hub/static/${current}/vendor/graphql-ws/client.js`).expect(200);
    expect(client.headers['content-type']).toMatch(/javascript/);
    expect(client.text).toContain('function createClient');
    const chunk = /from '\.\/(common-[\w-]+\.js)'/.exec(client.text)?.[1];
    expect(chunk).toBeDefined();
    await request(app).get(`/hub/static/${current}/vendor/graphql-ws/${chunk}`).expect(200);
    await request(app).get(`/hub/static/${current}/vendor/graphql-ws/server-zBhvXJ_Z.js`).expect(404);
    await request(app).get(`/hub/static/${current}/vendor/graphql-ws/../package.json`).expect(404);
  });

  it('lists every module a page script imports, directly or not, each served and cached for good', async () => {
    const imports = moduleImports('js/workflows.js');
    expect(imports).toEqual(expect.arrayContaining(['js/gql.js', 'js/live.js', 'js/connection.js', 'vendor/graphql-ws/client.js']));
    expect(imports.some((path) => /^vendor\/graphql-ws\/common-[\w-]+\.js$/.test(path))).toBe(true);
    expect(imports).not.toContain('js/workflows.js');
    expect(new Set(imports).size).toBe(imports.length);
    for (const path of imports) {
      const res = await request(app).get(`/hub/static/${current}/${path}`).expect(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
  });

  it("gives an older version's page today's files, never cached, and unversioned paths likewise", async () => {
    const old = await request(app).get('/hub/static/v-000000000000/css/flotilla.css').expect(200);
    expect(old.headers['cache-control']).toBe('no-cache');
    expect(old.text).toContain('.badge');
    const plain = await request(app).get('/hub/static/css/flotilla.css').expect(200);
    expect(plain.headers['cache-control']).toBe('no-cache');
  });

  it('refuses paths that climb out of the tree', async () => {
    const res = await request(app).get(`/hub/static/${current}/%2e%2e/%2e%2e/package.json`);
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});
