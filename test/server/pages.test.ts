/**
 * The pages in a real browser (chromium through playwright-core), behind a stand-in for the hub
 * that signs proofs: they load, go live over the WebSocket, show controls disabled with a reason,
 * and raise no script errors. Screenshots land in test-results/server/ for people to look at.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser } from '../browser/harness.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SigningProxy, startTestServer, waitFor, type TestServer } from './helpers.js';

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
    script: for i in 1 2 3; do echo "test step $i"; done; sleep 600
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

describe.skipIf(!chromiumAvailable)('pages in a browser', () => {
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
    await waitFor('the demo workflow to reach a running test and a failed lint', async () => {
      const r = await server.graphql({ user: 'alice' }, '{ workflow(id: "ocean-model") { tasks { name state } } }');
      const tasks: { name: string; state: string }[] = r.body.data.workflow.tasks;
      return tasks.some((t) => t.name === 'test' && t.state === 'running') && tasks.some((t) => t.name === 'lint' && t.state === 'failed');
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      // Kill the long-running test jobs and wait, so that no job outlives the test.
      await server.graphql({ user: 'alice' }, 'mutation { stop(workflows: ["ocean-model", "data-sync"], mode: "kill") { ok } }');
      await waitFor('the workflows to stop', async () => {
        const r = await server.graphql({ user: 'alice' }, '{ workflows { status } }');
        return r.body.data.workflows.every((w: { status: string }) => w.status === 'stopped');
      });
    }
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

  it("the page's live connection is deflated, and the page shows what came over it", async () => {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'test-user', value: 'alice', url: proxy.origin }]);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const extensions: string[] = [];
    const frames: string[] = [];
    cdp.on('Network.webSocketHandshakeResponseReceived', ({ response }) => {
      const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
      extensions.push(headers['sec-websocket-extensions'] ?? '');
    });
    cdp.on('Network.webSocketFrameReceived', ({ response }) => frames.push(response.payloadData));
    await page.goto(`${proxy.origin}${server.base}workflows/ocean-model`);
    await page.waitForSelector('#live.on');
    await page.waitForSelector('#tasks tbody tr');
    expect(extensions).toEqual([expect.stringContaining('permessage-deflate')]);
    // The first burst is well over the 1 KB from which results go deflated (compressed-messages.ts).
    const burst = frames.map((text) => JSON.parse(text)).find((m) => m.payload?.data?.deltas?.added?.tasks);
    expect(JSON.stringify(burst).length).toBeGreaterThan(1024);
    const shown = await page.$$eval('#tasks tbody tr a.task-name', (links) => links.map((a) => a.textContent));
    const sent: { name: string }[] = burst.payload.data.deltas.added.tasks;
    expect(new Set(shown)).toEqual(new Set(sent.map((t) => t.name)));
    await context.close();
  });

  it("a task's details are fetched when its row is opened; a failed fetch says so and can be tried again", async () => {
    const { page, errors } = await open('alice', 'workflows/ocean-model', '#tasks tbody tr');
    const row = '#tasks tr.details[data-task="1/build"]';
    // The server goes away for the details query alone, as a dropped connection would.
    await page.route('**/graphql', (route) => (route.request().postData()?.includes('tasks(workflow:') ? route.abort('connectionreset') : route.continue()));
    await page.click('#tasks tbody tr[data-task="1/build"] button.expander');
    await page.waitForSelector(`${row}:has-text("Could not load the details of 1/build")`);
    expect(await page.locator(`${row}[aria-busy]`).count()).toBe(0);
    await page.locator(row).screenshot({ path: join(SHOTS, 'task-details-failed.png') });
    await page.unroute('**/graphql');
    await page.click(`${row} button:has-text("Try again")`);
    await page.waitForSelector(`${row} pre.script`);
    expect(await page.locator(`${row} pre.script`).innerText()).not.toBe('');
    await page.context().close();
    // The aborted request is the browser's own console error, not the page's.
    expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
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

  /** The tooltip (data-why) of the control wrapping `inner`, inside `scope`. */
  const why = (page: Page, scope: string, inner: string) => page.getAttribute(`${scope} [data-why]:has(${inner})`, 'data-why');

  it('workflow page for a reader: every other operation is there, disabled, saying which permission it needs', async () => {
    const { page, errors } = await open('bob', 'workflows/ocean-model', '#tasks tbody tr');
    await page.waitForSelector('#workflow-log .log-entry');
    expect(await page.isDisabled('#workflow-settings button:has-text("Broadcast…")')).toBe(true);
    const broadcast = await why(page, '#workflow-settings', 'button:has-text("Broadcast…")');
    expect(broadcast).toContain('You do not have the "broadcast" permission');
    expect(broadcast).toContain('ALL');
    expect(await page.isDisabled('#verbosity')).toBe(true);
    expect(await why(page, '#workflow-controls', '#verbosity')).toContain('"set_verbosity" permission');
    expect(await page.isDisabled('#window-extent')).toBe(true);
    expect(await why(page, '#graph-controls', '#window-extent')).toContain('"set_graph_window_extent" permission');
    expect(await why(page, '#workflow-settings', '#xtrigger-name')).toContain('"ext_trigger" permission');
    expect(await why(page, '#workflow-settings', 'button:has-text("Satisfy")')).toContain('"ext_trigger" permission');
    expect(await why(page, '#workflow-settings', 'button:has-text("Release")')).toContain('"release_hold_point" permission');
    expect(await why(page, '#workflow-controls', 'button:has-text("Clean")')).toContain('"clean" permission');
    // With a task selected, what bob may do (hold) opens up; the rest still names the permission.
    await page.check('#tasks tbody tr[data-task="1/publish"] input[type="checkbox"]');
    await page.waitForSelector('#task-controls button:has-text("Hold"):not([disabled])');
    expect(await why(page, '#task-controls', 'button:has-text("Message…")')).toContain('"message" permission');
    expect(await why(page, '#task-controls', 'button:has-text("Set outputs…")')).toContain('"set_outputs" permission');
    expect(await why(page, '#task-controls', 'button:has-text("Kill")')).toContain('"kill" permission');
    // Release is permitted, but not valid: 1/publish is not held.
    expect(await why(page, '#task-controls', 'button:has-text("Release")')).toMatch(/^Not now: none of the selected tasks is held/);
    await page.hover('#workflow-settings [data-why]:has(button:has-text("Broadcast…"))');
    await page.screenshot({ path: join(SHOTS, 'workflow-reader-advanced.png'), fullPage: true });
    await page.context().close();
    expect(errors).toEqual([]);
  });

  it('workflow page for a reader: controls follow a change of permissions without a reload', async () => {
    const ua = { bob: ['READ', 'pause', 'hold', 'release'], 'group:ops': ['read'], zoe: ['!ALL'] };
    const { page, errors } = await open('bob', 'workflows/ocean-model', '#tasks tbody tr');
    // The page has no permission poll to wait for: the change must come over the subscription.
    const reads: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/graphql') && (r.postData() ?? '').includes('permissions')) reads.push(r.postData()!);
    });
    expect(await page.isDisabled('#workflow-controls button:has-text("Pause")')).toBe(false);
    await server.put({ user: 'alice' }, `${server.base}api/authorization`).send({ ...ua, bob: ['READ', 'hold'] }).expect(200);
    try {
      await page.waitForSelector('#workflow-controls button:has-text("Pause")[disabled]', { timeout: 20_000 });
      expect(await why(page, '#workflow-controls', 'button:has-text("Pause")')).toContain('"pause" permission');
    } finally {
      await server.put({ user: 'alice' }, `${server.base}api/authorization`).send(ua).expect(200);
    }
    await page.waitForSelector('#workflow-controls button:has-text("Pause"):not([disabled])', { timeout: 20_000 });
    expect(reads).toEqual([]);
    await page.context().close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('workflow list: a visitor sees what they may do, updated when sharing changes', async () => {
    const ua = { bob: ['READ', 'pause', 'hold', 'release'], 'group:ops': ['read'], zoe: ['!ALL'] };
    const { page, errors } = await open('bob', '', '#workflows tbody tr');
    expect(await page.textContent('#access')).toBe('You may see these workflows and use: hold, pause, release.');
    await server.put({ user: 'alice' }, `${server.base}api/authorization`).send({ ...ua, bob: ['READ'] }).expect(200);
    try {
      await page.waitForSelector('#access:text-is("You may see these workflows, not act on them.")', { timeout: 20_000 });
    } finally {
      await server.put({ user: 'alice' }, `${server.base}api/authorization`).send(ua).expect(200);
    }
    await page.waitForSelector('#access:has-text("hold, pause, release")', { timeout: 20_000 });
    expect(await page.textContent('#live')).toBe('live');
    await page.context().close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('workflow page: active broadcasts in a panel, Clear for the owner, disabled with the reason for a reader', async () => {
    const broadcast = (args: string) => server.graphql({ user: 'alice' }, `mutation { broadcast(workflows: ["ocean-model"], ${args}) { ok message } }`).expect(200);
    const active = async () => (await server.graphql({ user: 'alice' }, '{ workflow(id: "ocean-model") { broadcasts { id } } }').expect(200)).body.data.workflow.broadcasts.map((b: { id: string }) => b.id);
    const { page: reader, errors: readerErrors } = await open('bob', 'workflows/ocean-model', '#tasks tbody tr');
    expect(await reader.isHidden('#broadcasts-card')).toBe(true);
    try {
      expect((await broadcast('settings: {env: {TARGET: "staging", REGION: "eu"}}, cyclePoints: ["2"], namespaces: ["publish"]')).body.data.broadcast[0].ok).toBe(true);
      expect((await broadcast('settings: {script: "echo approved by broadcast"}, namespaces: ["appr*"]')).body.data.broadcast[0].ok).toBe(true);

      // The reader's open page shows both, live, with Clear disabled and saying why.
      await reader.waitForSelector('#broadcasts tbody tr[data-broadcast="*/appr*"]');
      expect(await reader.$$eval('#broadcasts tbody tr', (rows) => rows.map((r) => r.getAttribute('data-broadcast')))).toEqual(['2/publish', '*/appr*']);
      expect(await reader.textContent('#broadcasts tbody tr[data-broadcast="2/publish"]')).toContain('TARGET=staging');
      expect(await reader.isDisabled('#broadcasts tbody tr[data-broadcast="2/publish"] button:has-text("Clear")')).toBe(true);
      const readerWhy = await why(reader, '#broadcasts tbody tr[data-broadcast="2/publish"]', 'button:has-text("Clear")');
      expect(readerWhy).toContain('You do not have the "broadcast" permission');
      await reader.hover('#broadcasts tbody tr[data-broadcast="2/publish"] [data-why]');
      await reader.screenshot({ path: join(SHOTS, 'workflow-broadcasts-reader.png') });

      // The owner clears one; both pages lose that row, the other stays.
      const { page, errors } = await open('alice', 'workflows/ocean-model', '#broadcasts tbody tr[data-broadcast="2/publish"]');
      await page.screenshot({ path: join(SHOTS, 'workflow-broadcasts.png'), fullPage: true });
      await page.click('#workflow-settings button:has-text("Broadcast…")');
      expect(await page.textContent('#broadcast-active')).toContain('task publish, cycle point 2');
      await page.screenshot({ path: join(SHOTS, 'broadcast-dialog-active.png') });
      await page.click('dialog button:has-text("Cancel")');
      await page.waitForSelector('dialog', { state: 'detached' });
      await page.click('#broadcasts tbody tr[data-broadcast="2/publish"] button:has-text("Clear")');
      await page.waitForSelector('#broadcasts tbody tr[data-broadcast="2/publish"]', { state: 'detached' });
      expect(await active()).toEqual(['*/appr*']);
      await reader.waitForSelector('#broadcasts tbody tr[data-broadcast="2/publish"]', { state: 'detached' });
      await page.click('#broadcasts tbody tr[data-broadcast="*/appr*"] button:has-text("Clear")');
      await page.waitForSelector('#broadcasts-card', { state: 'hidden' });
      expect(await active()).toEqual([]);
      await page.context().close();
      expect(errors).toEqual([]);
    } finally {
      if ((await active()).length) await broadcast('mode: "clear", settings: {}');
    }
    await reader.waitForSelector('#broadcasts-card', { state: 'hidden' });
    await reader.context().close();
    expect(readerErrors).toEqual([]);
  }, 90_000);

  it('workflow page for the owner: broadcast, message, outputs, trigger, verbosity and window take effect', async () => {
    const { page, errors } = await open('alice', 'workflows/ocean-model', '#tasks tbody tr');
    const task = async (id: string) => {
      const r = await server.graphql({ user: 'alice' }, `{ workflow(id: "ocean-model") { verbosity graphWindowExtent tasks { id env xtriggerSatisfied outputs messages { severity text by } } } }`).expect(200);
      return { wf: r.body.data.workflow, task: r.body.data.workflow.tasks.find((t: { id: string }) => t.id === id) };
    };

    // broadcast set, seen by the API and in the task's details row
    await page.check('#tasks tbody tr[data-task="1/publish"] input[type="checkbox"]');
    await page.click('#workflow-settings button:has-text("Broadcast…")');
    expect(await page.inputValue('#broadcast-namespaces')).toBe('publish');
    expect(await page.inputValue('#broadcast-points')).toBe('1');
    await page.fill('#broadcast-env', 'TARGET=staging');
    await page.screenshot({ path: join(SHOTS, 'broadcast-dialog.png') });
    await page.click('dialog button[type="submit"]');
    await page.waitForSelector('dialog', { state: 'detached' });
    await waitFor('the broadcast to reach 1/publish', async () => (await task('1/publish')).task.env?.TARGET === 'staging');
    expect((await task('2/publish')).task.env?.TARGET).toBeUndefined();
    await page.click('#tasks tbody tr[data-task="1/publish"] button.expander');
    await page.waitForSelector('#tasks tr.details[data-task="1/publish"] table.env:has-text("staging")');

    // broadcast clear
    await page.click('#workflow-settings button:has-text("Broadcast…")');
    await page.click('dialog .segmented label:has-text("Clear overrides")');
    await page.click('dialog button[type="submit"]');
    await page.waitForSelector('dialog', { state: 'detached' });
    await waitFor('the broadcast to be cleared', async () => (await task('1/publish')).task.env?.TARGET === undefined);
    // The opened row follows live changes to what it fetched when it was opened.
    await page.waitForSelector('#tasks tr.details[data-task="1/publish"]:not([aria-busy]):not(:has-text("staging"))');

    // a message, shown in the task row
    await page.click('#tasks tbody tr[data-task="1/publish"] input[type="checkbox"]');
    await page.check('#tasks tbody tr[data-task="1/lint"] input[type="checkbox"]');
    await page.click('#task-controls button:has-text("Message…")');
    await page.selectOption('#message-severity', 'WARNING');
    await page.fill('#message-text', 'lint failures are known, see ticket 42');
    await page.click('dialog button[type="submit"]');
    await page.waitForSelector('#tasks tbody tr[data-task="1/lint"] .task-message:has-text("ticket 42")');
    expect((await task('1/lint')).task.messages.at(-1)).toEqual({ severity: 'WARNING', text: 'lint failures are known, see ticket 42', by: 'alice' });

    // set outputs with a custom name only: the task keeps its state
    await page.click('#task-controls button:has-text("Set outputs…")');
    await page.click('dialog label.choice:has-text("neither")');
    await page.fill('#outputs-custom', 'reviewed');
    await page.screenshot({ path: join(SHOTS, 'outputs-dialog.png') });
    await page.click('dialog button[type="submit"]');
    await page.waitForSelector('dialog', { state: 'detached' });
    await waitFor('the custom output on 1/lint', async () => (await task('1/lint')).task.outputs.includes('reviewed'));

    // an external trigger by name, for one cycle point
    await page.fill('#xtrigger-name', 'approval');
    await page.fill('#xtrigger-cycle', '2');
    await page.click('#workflow-settings button:has-text("Satisfy")');
    await waitFor('approval satisfied at cycle 2', async () => (await task('2/approve')).task.xtriggerSatisfied === true);
    expect((await task('1/approve')).task.xtriggerSatisfied).toBe(false);

    // verbosity: the select changes the workflow's level, and the page shows it
    await page.selectOption('#verbosity', 'DEBUG');
    await waitFor('verbosity DEBUG', async () => (await task('1/lint')).wf.verbosity === 'DEBUG');
    await page.waitForSelector('#wf-summary:has-text("Log level DEBUG")');

    // window extent: fewer tasks in the graph with a narrower window, back again with 1
    const nodes = () => page.$$eval('#graph .graph-node', (n) => n.length);
    const before = await nodes();
    await page.fill('#window-extent', '0');
    await page.click('#graph-controls button:has-text("Apply")');
    await waitFor('window extent 0', async () => (await task('1/lint')).wf.graphWindowExtent === 0);
    await page.waitForFunction((n) => document.querySelectorAll('#graph .graph-node').length < n, before);
    await page.waitForSelector('#workflow-log .log-entry:has-text("set_graph_window_extent")');
    await page.click('#tasks tbody tr[data-task="1/lint"] button.expander');
    await page.screenshot({ path: join(SHOTS, 'workflow-owner-after.png'), fullPage: true });
    await page.fill('#window-extent', '1');
    await page.press('#window-extent', 'Enter');
    await page.waitForFunction((n) => document.querySelectorAll('#graph .graph-node').length === n, before);
    await page.context().close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('destructive operations ask first in an in-page dialog, and Cancel does nothing', async () => {
    const { page, errors } = await open('alice', 'workflows/ocean-model', '#tasks tbody tr');
    page.on('dialog', () => errors.push('a native browser dialog opened'));
    await page.click('#workflow-controls button:has-text("Stop now")');
    await page.waitForSelector('dialog[open]:has-text("Stop now?")');
    await page.screenshot({ path: join(SHOTS, 'confirm-stop-now.png') });
    await page.click('dialog[open] button:has-text("Cancel")');
    await page.waitForSelector('dialog', { state: 'detached' });
    // Kill applies to the running 1/test, Remove to the waiting 1/publish.
    await page.check('#tasks tbody tr[data-task="1/test"] input[type="checkbox"]');
    await page.check('#tasks tbody tr[data-task="1/publish"] input[type="checkbox"]');
    for (const label of ['Kill', 'Remove']) {
      await page.click(`#task-controls button:has-text("${label}")`);
      await page.waitForSelector('dialog[open]');
      await page.click('dialog[open] button:has-text("Cancel")');
      await page.waitForSelector('dialog', { state: 'detached' });
    }
    const r = await server.graphql({ user: 'alice' }, '{ workflow(id: "ocean-model") { status tasks { id state } } }').expect(200);
    expect(r.body.data.workflow.status).toBe('running');
    const states = new Map(r.body.data.workflow.tasks.map((t: { id: string; state: string }) => [t.id, t.state]));
    expect([states.get('1/test'), states.get('1/publish')]).toEqual(['running', 'waiting']);
    await page.context().close();
    expect(errors).toEqual([]);
  }, 90_000);

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

/** The same pages over plain HTTP: what each refusal and missing page says, and with which status. */
describe('pages that say what is wrong', () => {
  const SITE = { '*': { '*': { default: 'READ', limit: 'ALL' }, dave: { limit: '!ALL' } } };
  let server: TestServer;
  const html = (who: string | null, path: string) => server.get({ user: who }, `${server.base}${path}`).set('Accept', 'text/html');

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, ua: { '*': ['READ'], zoe: ['!ALL'] }, flows: { demo: SMALL } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a workflow that does not exist, or that the visitor may not read, is a 404 page, not a control page', async () => {
    await html('alice', 'workflows/demo').expect(200);
    const missing = await html('alice', 'workflows/nope').expect(404);
    expect(missing.text).toContain('No such workflow');
    expect(missing.text).not.toContain('id="page-data"');
    await server.put({ user: 'alice' }, `${server.base}api/authorization/workflows/demo`).send({ bob: ['!read'] }).expect(200);
    try {
      const hidden = await html('bob', 'workflows/demo').expect(404);
      const absent = await html('bob', 'workflows/nope').expect(404);
      // Nothing tells an existing workflow from a missing one but its name.
      expect(hidden.text.replaceAll('demo', 'nope')).toBe(absent.text);
    } finally {
      await server.delete({ user: 'alice' }, `${server.base}api/authorization/workflows/demo`).expect(200);
    }
  });

  it('an unknown address is the product 404 page for a browser and JSON for an API client', async () => {
    const page = await html('alice', 'nope').expect(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('Page not found');
    const api = await server.get({ user: 'alice' }, `${server.base}nope`).set('Accept', 'application/json').expect(404);
    expect(api.body).toEqual({ error: 'not found' });
    const bare = await server.get({ user: 'alice' }, `${server.base}api/nope`).expect(404);
    expect(bare.body).toEqual({ error: 'not found' });
  });

  it('a visitor shut out by the site limit is told an administrator can change it, not to ask the owner', async () => {
    const page = await html('dave', '').expect(403);
    expect(page.text).toContain('Only a site administrator can change that');
    expect(page.text).not.toContain('ask alice');
    const profile = await server.get({ user: 'dave' }, `${server.base}api/userprofile`).expect(403);
    expect(profile.body).toMatchObject({ reason: 'site-limit', error: expect.stringContaining('site administrator') });
    const gql = await server.graphql({ user: 'dave' }, '{ workflows { id } }').expect(403);
    expect(gql.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'site-limit' });
    expect(gql.body.errors[0].message).toContain('site administrator');
  });

  it("a visitor the owner's sharing leaves out is told to ask the owner", async () => {
    const page = await html('zoe', '').expect(403);
    expect(page.text).toContain('ask alice to add you');
    const profile = await server.get({ user: 'zoe' }, `${server.base}api/userprofile`).expect(403);
    expect(profile.body.reason).toBe('owner-sharing');
  });

  it("an invalid owner file and an invalid site file each name who must fix them", async () => {
    const before = readFileSync(server.ownerFile);
    writeFileSync(server.ownerFile, '{"WorkflowServer": {"user_authorization": {"bob": ["sudo"]}}}');
    try {
      await vi.waitFor(async () => expect((await server.get({ user: 'bob' }, `${server.base}api/userprofile`)).body.reason).toBe('owner-file-invalid'), { timeout: 20_000 });
      expect((await html('bob', '').expect(403)).text).toContain('alice&#39;s sharing settings are invalid');
    } finally {
      writeFileSync(server.ownerFile, before);
    }
    await vi.waitFor(async () => expect((await server.get({ user: 'bob' }, `${server.base}api/userprofile`)).status).toBe(200), { timeout: 20_000 });
    await server.pushSite({ workflowServer: { site_authorization: { '*': { '*': { default: 'Trigerr' } } } } });
    try {
      const page = await html('bob', '').expect(403);
      expect(page.text).toContain('The site configuration is invalid');
      expect(page.text).not.toContain('Trigerr');
      expect((await server.get({ user: 'bob' }, `${server.base}api/userprofile`).expect(403)).body.reason).toBe('site-invalid');
    } finally {
      await server.pushSite({ workflowServer: { site_authorization: SITE } });
    }
  });
});

describe('the sharing page API on an invalid site or owner file', () => {
  let server: TestServer;
  const alice = { user: 'alice' };
  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { default: 'READ', limit: 'ALL' } } }, ua: { bob: ['READ'] }, groups: { ops: ['bob'] } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('tells the owner the site configuration is invalid without showing it', async () => {
    const healthy = await server.post(alice, `${server.base}api/authorization/preview`).send({ bob: ['READ'] }).expect(200);
    expect(healthy.body.state).toEqual({ siteInvalid: false, ownerFileInvalid: false });
    await server.pushSite({ workflowServer: { site_authorization: { '*': { '*': { default: 'Trigerr' } } } } });
    try {
      expect((await server.get(alice, `${server.base}api/authorization/state`).expect(200)).body).toEqual({ siteInvalid: true, ownerFileInvalid: false });
      const preview = await server.post(alice, `${server.base}api/authorization/preview`).send({ bob: ['READ'] }).expect(200);
      expect(preview.body.state.siteInvalid).toBe(true);
      expect(JSON.stringify(preview.body)).not.toContain('Trigerr');
    } finally {
      await server.pushSite({ workflowServer: { site_authorization: { '*': { '*': { default: 'READ', limit: 'ALL' } } } } });
    }
    expect((await server.get(alice, `${server.base}api/authorization/state`).expect(200)).body.siteInvalid).toBe(false);
  });

  it("gives the owner an invalid file's text to fix, and saves the fixed text after checking it", async () => {
    const broken = '{"WorkflowServer": {"user_authorization": {"bob": ["READ", "sudo"]},\n "workflow_authorization": {"demo": {"bob": ["pause"]}}}}';
    writeFileSync(server.ownerFile, broken);
    await vi.waitFor(async () => expect((await server.get(alice, `${server.base}api/authorization/state`)).body.ownerFileInvalid).toBe(true), { timeout: 20_000 });
    const loaded = await server.get(alice, `${server.base}api/authorization`).expect(409);
    expect(loaded.body).toEqual({ error: expect.stringContaining('sudo'), text: broken });
    await server.get({ user: 'bob' }, `${server.base}api/authorization`).expect(403);
    await server.put({ user: 'bob' }, `${server.base}api/authorization/file`).send({ text: '{}' }).expect(403);
    const stillBad = await server.put(alice, `${server.base}api/authorization/file`).send({ text: broken.replace('"sudo"', '"sudo",') }).expect(400);
    expect(stillBad.body.error).toMatch(/line 1, column/);
    expect(readFileSync(server.ownerFile, 'utf8')).toBe(broken);
    await server.put(alice, `${server.base}api/authorization/file`).send({ text: broken.replace(', "sudo"', '') }).expect(200);
    expect((await server.get(alice, `${server.base}api/authorization/state`).expect(200)).body.ownerFileInvalid).toBe(false);
    // The workflow section survives: the fix kept the whole file, not just user_authorization.
    expect((await server.get(alice, `${server.base}api/authorization/workflows`).expect(200)).body).toEqual({ demo: { bob: ['pause'] } });
    expect((await server.get({ user: 'bob' }, `${server.base}api/userprofile`).expect(200)).body.permissions).toEqual(['read']);
  });
});
