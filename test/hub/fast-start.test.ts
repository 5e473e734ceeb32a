import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cookieValue, signIn, startHub, type HubFixture } from './helpers.js';
import { SESSION_COOKIE } from '../../src/hub/index.js';

// These tests spawn real `bin/flotilla server` processes: dist/ must be built (npm run build).
const SLOW = 120_000;

/**
 * A page visit to a stopped server whose start is over within `spawner.slow_spawn_timeout` goes
 * straight to the page asked for, as JupyterHub does; the wait here is long enough for any start,
 * so that each test sees that path whatever the machine's speed.
 */
describe('a page visit that waits for a fast start', () => {
  let f: HubFixture;
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    f = await startHub({ hub: { spawner: { start_timeout: 90, poll_interval: 1, slow_spawn_timeout: 90 } } });
    const flow = join(f.dir, 'users', 'alice', 'workflows', 'hello');
    mkdirSync(flow, { recursive: true });
    writeFileSync(join(flow, 'flow.yaml'), 'tasks:\n  greet:\n    script: echo hello\n');
    for (const user of ['alice', 'carol']) {
      const signed = await signIn(f.agent(), user);
      cookies[user] = `${SESSION_COOKIE}=${cookieValue(signed.res.headers['set-cookie'], SESSION_COOKIE)}`;
    }
  }, SLOW);

  afterAll(async () => {
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  const visit = (owner: string, path = '') => f.agent().get(`/user/${owner}/${path}`).set('Cookie', cookies[owner]!).set('Accept', 'text/html');

  it('answers with the page asked for once the server is up, having started it once for every visit', async () => {
    expect(f.hub.context.servers.status('alice')).toBe('stopped');
    const [list, again] = await Promise.all([visit('alice'), visit('alice')]);
    for (const page of [list, again]) {
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('Starting your server');
      // The workflow server's own list page, with the workflow in its data.
      expect(page.text).toContain('id="workflows"');
    }
    expect(f.hub.context.servers.status('alice')).toBe('running');
    expect(f.hub.context.servers.spawner.list().filter((s) => s.owner === 'alice')).toHaveLength(1);
  }, SLOW);

  it('shows the progress page of a start that failed meanwhile, without starting it again', async () => {
    // A damaged engine database stops carol's server during start-up.
    const state = join(f.dir, 'users', 'carol', '.flotilla');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'engine.sqlite'), 'this is not a database');
    const page = await visit('carol');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Starting your server');
    // The page's stream then says why (the failure is recorded); no second start is under way.
    expect(f.hub.context.servers.status('carol')).toBe('stopped');
    expect(f.hub.context.servers.lastFailure('carol')).toContain('engine.sqlite');
  }, SLOW);
});
