/**
 * The pages in a real browser (chromium through playwright-core), behind a stand-in for the hub
 * that signs proofs: they load, go live over the WebSocket, show controls disabled with a reason,
 * and raise no script errors. Screenshots land in test-results/server/ for people to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningProxy, startTestServer, waitFor, type TestServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'server');

const FLOW = `
description: Nightly build and test of the ocean model
cycles: 2
tasks:
  fetch:
    script: echo "fetching inputs"; sleep 0.5; echo fetched
  build:
    script: echo "building"; sleep 0.5; echo "build done"
    depends: [fetch]
  test:
    script: for i in 1 2 3; do echo "test step $i"; done; sleep 60
    depends: [build]
  lint:
    script: 'echo "lint: 3 problems" >&2; exit 1'
    depends: [fetch]
  publish:
    script: echo publish
    depends: [test, lint]
  approve:
    script: echo approved
    xtrigger: approval
`;
const SMALL = `
description: Hourly data sync
tasks:
  sync:
    script: echo synced
`;

describe.skipIf(!existsSync(CHROMIUM))('pages in a browser', () => {
  let proxy: SigningProxy;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    proxy = new SigningProxy({ bob: ['ops'] });
    const origin = await proxy.listen();
    server = await startTestServer({
      owner: 'alice',
      site: { '*': { '*': { default: 'READ', limit: 'ALL' } } },
      ua: { bob: ['READ', 'pause', 'hold', 'release'], 'group:ops': ['read'], zoe: ['!ALL'] },
      flows: { 'ocean-model': FLOW, 'data-sync': SMALL, 'broken-flow': 'tasks:\n  a:\n    scrpt: "true"\n' },
      hubOrigin: origin,
    });
    proxy.server = server;
    await server.graphql({ user: 'alice' }, 'mutation { play(workflows: ["ocean-model", "data-sync"]) { ok } }').expect(200);
    await waitFor(async () => {
      const r = await server.graphql({ user: 'alice' }, '{ workflow(id: "ocean-model") { tasks { name state } } }');
      const tasks: { name: string; state: string }[] = r.body.data.workflow.tasks;
      return tasks.some((t) => t.name === 'test' && t.state === 'running') && tasks.some((t) => t.name === 'lint' && t.state === 'failed');
    }, 'the demo workflow to reach a running test and a failed lint');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.graphql({ user: 'alice' }, 'mutation { stop(workflows: ["ocean-model", "data-sync"], mode: "kill") { ok } }');
    await server?.close();
    await proxy?.close();
  });

  /** Opens a page as `user`; with `ready`, waits for that selector and for the live subscription. */
  async function open(user: string, path: string, ready?: string): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.addCookies([{ name: 'test-user', value: user, url: proxy.origin }]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().includes('403')) errors.push(msg.text());
    });
    await page.goto(`${proxy.origin}${server.base}${path}`);
    if (ready) {
      await page.waitForSelector(ready);
      await page.waitForSelector('#live.on');
    }
    return { page, errors };
  }

  it('workflow list: rows with status and progress, live', async () => {
    const { page, errors } = await open('alice', '', '#workflows tbody tr');
    const names = await page.$$eval('#workflows tbody td.name-cell a', (as) => as.map((a) => a.textContent));
    expect(names).toEqual(['broken-flow', 'data-sync', 'ocean-model']);
    await page.screenshot({ path: join(SHOTS, 'workflows.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('workflow page for the owner: tasks, graph, log, enabled controls', async () => {
    const { page, errors } = await open('alice', 'workflows/ocean-model', '#tasks tbody tr');
    await page.waitForSelector('#graph svg');
    await page.click('#tasks tbody tr:has-text("build") a.task-name >> nth=0');
    await page.waitForFunction(() => !document.getElementById('log')!.classList.contains('empty-log'));
    expect(await page.isDisabled('#workflow-controls button:has-text("Pause")')).toBe(false);
    expect(await page.isDisabled('#workflow-controls button:has-text("Play")')).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'workflow-owner.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('workflow page for a reader: controls disabled with the reason', async () => {
    const { page, errors } = await open('bob', 'workflows/ocean-model', '#tasks tbody tr');
    const why = await page.getAttribute('#workflow-controls [data-why]:has(button:has-text("Stop now"))', 'data-why');
    expect(why).toContain('You do not have the "stop" permission');
    expect(await page.isDisabled('#workflow-controls button:has-text("Pause")')).toBe(false);
    await page.hover('#workflow-controls [data-why]:has(button:has-text("Stop now"))');
    await page.screenshot({ path: join(SHOTS, 'workflow-reader.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('sharing page: rules, validation as you type, preview, explanation', async () => {
    const { page, errors } = await open('alice', 'sharing');
    await page.waitForSelector('#preview tbody tr');
    await page.waitForSelector('#validation.ok');
    await page.fill('#rules tbody tr:first-child td:nth-child(2) input', 'READ, pause, !stpo');
    await page.waitForSelector('#validation.bad');
    expect(await page.textContent('#validation')).toContain('did you mean');
    expect(await page.isDisabled('#save')).toBe(true);
    await page.fill('#rules tbody tr:first-child td:nth-child(2) input', 'READ, CONTROL, !stop');
    await page.waitForSelector('#validation.ok');
    await page.fill('#explain-user', 'bob');
    await page.fill('#explain-groups', 'ops');
    await page.click('#explain-form button');
    await page.waitForSelector('#explain:not([hidden])');
    await page.screenshot({ path: join(SHOTS, 'sharing.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('an open page learns at once that access was withdrawn', async () => {
    const ua = { bob: ['READ', 'pause', 'hold', 'release'], 'group:ops': ['read'], zoe: ['!ALL'] };
    const { page, errors } = await open('bob', '', '#workflows tbody tr');
    await server.put({ user: 'alice' }, `${server.base}api/authorization`).send({ ...ua, bob: ['!READ'] }).expect(200);
    await page.waitForSelector('#live.off');
    expect(await page.textContent('#live')).toBe('access revoked');
    expect(await page.textContent('#notices')).toContain('withdrawn');
    await page.screenshot({ path: join(SHOTS, 'revoked.png'), fullPage: true });
    await server.put({ user: 'alice' }, `${server.base}api/authorization`).send(ua).expect(200);
    expect(errors).toEqual([]);
  });

  it('no-access page for a visitor without read', async () => {
    const { page, errors } = await open('zoe', '');
    expect(await page.textContent('h1')).toContain("You do not have access to alice's workflows");
    await page.screenshot({ path: join(SHOTS, 'no-access.png'), fullPage: true });
    expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
  });
});
