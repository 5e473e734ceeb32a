import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser } from '../browser/harness.js';
import { PASSWORDS, startHub, waitFor, type HubFixture } from './helpers.js';

const SHOTS = resolve(import.meta.dirname, '..', '..', 'test-results');
const SLOW = 120_000;

/** The hub's pages in a real browser: they render, their scripts work, and screenshots are kept. */
describe.skipIf(!chromiumAvailable)('hub pages in Chromium', () => {
  let f: HubFixture;
  let browser: Browser;
  const errors: string[] = [];

  async function page(): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    p.on('pageerror', (err) => errors.push(err.message));
    p.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of (401|403|404|503)/.test(msg.text())) errors.push(msg.text());
    });
    return p;
  }

  async function signIn(p: Page, user: string): Promise<void> {
    await p.goto(`${f.url}/hub/login`);
    await p.fill('#username', user);
    await p.fill('#password', PASSWORDS[user]!);
    await Promise.all([p.waitForURL(/\/hub\/home/), p.click('button[type=submit]')]);
  }

  beforeAll(async () => {
    f = await startHub({
      hub: {
        load_groups: { physics: { users: ['alice', 'bob'] } },
        load_roles: [{ name: 'peers', scopes: ['access:servers!group=physics'], groups: ['physics'] }],
        // The progress page every time, however fast the start.
        spawner: { start_timeout: 90, poll_interval: 1, slow_spawn_timeout: 0 },
      },
      server: { site_authorization: { '*': { 'group:physics': { default: 'READ', limit: ['READ', 'CONTROL'] } } } },
    });
    const flow = join(f.dir, 'users', 'bob', 'workflows', 'hello');
    mkdirSync(flow, { recursive: true });
    writeFileSync(join(flow, 'flow.yaml'), 'tasks:\n  greet:\n    script: echo hello\n');
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchBrowser();
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  it('login page, with the answer to a wrong password', async () => {
    const p = await page();
    await p.goto(`${f.url}/hub/login`);
    expect(await p.locator('input[name=_xsrf]').getAttribute('value')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await p.screenshot({ path: join(SHOTS, 'hub-login.png') });
    await p.fill('#username', 'alice');
    await p.fill('#password', 'wrong');
    await p.click('button[type=submit]');
    await expect(p.locator('.notice.error').textContent()).resolves.toContain('Invalid user name or password.');
    await p.screenshot({ path: join(SHOTS, 'hub-login-failed.png') });
    await p.close();
  }, SLOW);

  it('spawn progress page says why a start failed, at the step it failed', async () => {
    // A damaged engine database stops carol's server during start-up, with a message naming it.
    const state = join(f.dir, 'users', 'carol', '.flotilla');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'engine.sqlite'), 'this is not a database');
    const p = await page();
    await signIn(p, 'carol');
    await p.goto(`${f.url}/user/carol/`);
    await waitFor('the failed step', async () => (await p.locator('#spawn-steps li.failed').count()) === 1, 90_000);
    const message = (await p.locator('#spawn-status').textContent()) ?? '';
    expect(message).toContain('The workflow server for "carol" could not start');
    expect(message).toContain('engine.sqlite is not a SQLite database');
    expect(await p.locator('h1').textContent()).toBe('The server could not start');
    expect(await p.locator('.spawn-log pre').textContent()).toContain('flotilla server:');
    expect(await p.locator('#spawn-retry').isVisible()).toBe(true);
    // The page shows the progress event's reason (JupyterHub's message has it after a prefix).
    const failure = await p.evaluate(async () => {
      const stream = await (await fetch('/hub/api/users/carol/server/progress')).text();
      return JSON.parse(stream.trim().slice('data: '.length)) as { failed: boolean; message: string; reason: string };
    });
    expect(failure.failed).toBe(true);
    expect(failure.message).toBe(`Spawn failed: ${failure.reason}`);
    // As a sentence: the reason's first line, capitalized.
    const why = failure.reason.split('\n')[0]!;
    expect(message).toBe(why.charAt(0).toUpperCase() + why.slice(1));
    expect(await p.locator('#spawn-steps li.done').allTextContents()).toContain('Requested');
    expect(await p.locator('#spawn-steps li[data-step=ready]').getAttribute('class')).toBe('');
    expect(p.url()).toBe(`${f.url}/user/carol/`);
    await p.screenshot({ path: join(SHOTS, 'hub-spawn-failed.png') });
    await p.close();
  }, SLOW);

  it('spawn progress page moves on to the page asked for; home shows permissions and tokens', async () => {
    const p = await page();
    await signIn(p, 'bob');
    await p.goto(`${f.url}/user/bob/`);
    await p.screenshot({ path: join(SHOTS, 'hub-spawn.png') });
    await p.waitForURL(`${f.url}/user/bob/`, { timeout: 90_000 });
    await waitFor('the workflow server page', async () => (await p.title()).length > 0 && !(await p.title()).startsWith('Starting'), 90_000);
    await p.close();

    const a = await page();
    await signIn(a, 'alice');
    await a.goto(`${f.url}/hub/home`);
    const row = a.locator('#reachable tr[data-owner=bob]');
    await expect(row.locator('.badge').textContent()).resolves.toBe('running');
    await waitFor('permissions from the user profile', async () => (await row.locator('.chip').count()) > 0, 20_000);
    expect(await row.locator('.chip').allTextContents()).toEqual(['READ']);
    await a.fill('#token-form input[name=note]', 'nightly report');
    await a.click('#token-form button[type=submit]');
    await waitFor('the new token', async () => !(await a.locator('#new-token').isHidden()), 10_000);
    expect(await a.locator('#new-token-value').textContent()).toMatch(/^flt_/);
    expect(await a.locator('#token-table tbody tr').count()).toBe(1);
    await a.screenshot({ path: join(SHOTS, 'hub-home.png'), fullPage: true });
    await a.click('#token-table .revoke');
    await waitFor('revocation', async () => (await a.locator('#token-table tbody tr').count()) === 0, 10_000);
    expect(f.hub.context.tokens.list('alice')).toEqual([]);
    // A read-only monitoring token: the servers alice reaches, nothing but read inside them.
    await a.selectOption('#token-form select[name=access]', 'monitor');
    await a.click('#token-form button[type=submit]');
    await waitFor('the monitoring token', async () => (await a.locator('#token-table tbody tr').count()) === 1, 10_000);
    expect(f.hub.context.tokens.list('alice')).toEqual([
      expect.objectContaining({ note: 'read-only monitoring', scopes: ['access:servers!group=physics', 'access:servers!user=alice', 'custom:workflows:read'] }),
    ]);

    // bob takes read away from alice: her home says whose sharing refused and who can change it,
    // and Open is disabled rather than leading to a refusal.
    writeFileSync(join(f.dir, 'users', 'bob', 'jupyter_config.json'), JSON.stringify({ WorkflowServer: { user_authorization: { alice: ['!READ'] } } }));
    await waitFor("bob's new sharing to apply", async () => {
      await a.goto(`${f.url}/hub/home`);
      await waitFor('the profile answer', async () => !(await row.locator('.perms').textContent())?.includes('loading'), 10_000);
      return (await row.locator('.perms').textContent())!.includes('ask bob');
    }, 30_000);
    expect(await row.locator('a.btn').getAttribute('aria-disabled')).toBe('true');
    await a.screenshot({ path: join(SHOTS, 'hub-home-refused.png'), fullPage: true });
    await a.close();
  }, SLOW);

  it('admin page: users with server status, groups managed through the API', async () => {
    const p = await page();
    await signIn(p, 'admin');
    await p.goto(`${f.url}/hub/admin`);
    await expect(p.locator('#users tr[data-user=bob] .badge').textContent()).resolves.toBe('running');
    await p.fill('#group-form input[name=name]', 'chemistry');
    await p.fill('#group-form input[name=users]', 'carol, mallory');
    await p.click('#group-form button[type=submit]');
    await waitFor('the new group', async () => (await p.locator('tr[data-group=chemistry]').count()) === 1, 10_000);
    expect(f.hub.context.groups.get('chemistry')?.users).toEqual(['carol', 'mallory']);
    await p.screenshot({ path: join(SHOTS, 'hub-admin.png'), fullPage: true });
    await p.close();
  }, SLOW);

  it('not-running and not-found pages', async () => {
    const p = await page();
    await signIn(p, 'carol');
    const res = await p.goto(`${f.url}/user/alice/`);
    expect(res?.status()).toBe(404);
    await p.screenshot({ path: join(SHOTS, 'hub-not-found.png') });
    await p.close();
    const b = await page();
    await signIn(b, 'bob');
    const stopped = await b.goto(`${f.url}/user/alice/`);
    expect(stopped?.status()).toBe(503);
    await expect(b.locator('h1').textContent()).resolves.toBe('Server not running');
    await b.screenshot({ path: join(SHOTS, 'hub-not-running.png') });
    await b.close();
    expect(errors).toEqual([]);
  }, SLOW);
});
