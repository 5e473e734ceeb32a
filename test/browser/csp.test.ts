/**
 * Every kind of page, of the hub and of a workflow server, in Chromium under the real
 * Content-Security-Policy (style-src 'self', no 'unsafe-inline'): the sign-in page, the hub's
 * message page, home, the start-up page (waiting and failed), a workflow page with tasks, the
 * workflow list with its progress bars, the sharing page, the server's 404 page, the monitor and
 * the admin page. None may raise a policy violation or a console error, and what used to be
 * sized by style attributes (progress bars, columns, short inputs) keeps its size.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, launchBrowser, newSession, openServerPage, screenshot, signIn, SLOW_TEST_MS, startSite, waitLive,
  type RunningSite, type Session,
} from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1', root: 'root-pw-2' };
/** The root font size of flotilla.css, to turn rem into pixels. */
const REM_PX = 15;

/** Where the test lets the long task finish; a task reads it as the owner's account, so it is open to all. */
const releaseDir = mkdtempSync(join(tmpdir(), 'flotilla-csp-'));
chmodSync(releaseDir, 0o755);
const RELEASE = join(releaseDir, 'release');

/** One task of each lasting state: succeeded, failed, running (until released, at most 5 minutes) and waiting. */
const MIXED = `description: One task in each state
tasks:
  ok: { script: "true" }
  bad: { script: "false" }
  hang: { script: "for i in $(seq 1200); do [ -e ${RELEASE} ] && exit 0; sleep 0.25; done" }
  after: { script: "true", depends: [hang] }
`;

/** The rendered width of the first element matching `selector`, in CSS pixels. */
async function widthOf(page: Page, selector: string): Promise<number> {
  const box = await page.locator(selector).first().boundingBox();
  if (!box) throw new Error(`${selector} has no box`);
  return box.width;
}

describe.skipIf(!chromiumAvailable)(`pages under a CSP without 'unsafe-inline' in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;
  const sessions: Session[] = [];

  beforeAll(async () => {
    [site, browser] = await Promise.all([
      startSite({ users: PASSWORDS, admins: ['root'], groups: { ops: ['alice'] }, workflows: { alice: { mixed: MIXED } } }),
      launchBrowser(),
    ]);
  }, SLOW_TEST_MS);

  afterAll(async () => {
    writeFileSync(RELEASE, '');
    for (const s of sessions) await s.context.close().catch(() => undefined);
    await browser?.close();
    await site?.stop();
    rmSync(releaseDir, { recursive: true, force: true });
  }, SLOW_TEST_MS);

  async function as(user: keyof typeof PASSWORDS): Promise<Session> {
    const session = await signIn(browser, site, user, PASSWORDS[user]);
    sessions.push(session);
    return session;
  }

  it('the sign-in page and the hub message page', async () => {
    const session = await newSession(browser);
    sessions.push(session);
    const { page, errors } = session;
    await page.goto(`${site.url}/hub/login`);
    await screenshot(page, 'csp-login');
    const missing = await page.goto(`${site.url}/hub/nowhere`);
    expect(missing?.status()).toBe(404);
    // The one button sits in the middle of the message, as the flex row is centred.
    const card = (await page.locator('.message-page').boundingBox())!;
    const button = (await page.locator('.message-page .btn').boundingBox())!;
    expect(Math.abs(button.x + button.width / 2 - (card.x + card.width / 2))).toBeLessThan(2);
    await screenshot(page, 'csp-hub-404');
    expect(errors).toEqual([]);
  }, SLOW_TEST_MS);

  it('home with a new token, and the start-up page waiting and failed', async () => {
    const { page, errors } = await as('alice');
    await page.fill('#token-form input[name=note]', 'csp check');
    await page.click('#token-form button[type=submit]');
    await page.locator('#new-token-value').filter({ hasText: /\S/ }).waitFor();
    await screenshot(page, 'csp-home');

    // The hub's progress stream is held, then answered with a failure, so that both states stay
    // on screen long enough to look at; the server itself starts in the background meanwhile.
    const progress = new Promise<Route>((resolve) => void page.route('**/server/progress', resolve));
    await page.goto(`${site.url}/user/alice/`);
    const held = await progress;
    // Before any progress event, the bar shows the stylesheet's first step.
    expect((await widthOf(page, '#spawn-bar')) / (await widthOf(page, '#spawn-progress'))).toBeCloseTo(0.05, 2);
    await screenshot(page, 'csp-spawn-waiting');
    // As the hub words a failed start: JupyterHub's message, and the reason on its own.
    const reason = 'the server exited with status 1\nlast log line one\nlast log line two';
    const failure = { failed: true, message: `Spawn failed: ${reason}`, reason };
    await held.fulfill({ status: 200, contentType: 'text/event-stream', body: `data: ${JSON.stringify(failure)}\n\n` });
    await page.locator('.spinner.stopped').waitFor();
    await page.locator('details.spawn-log').waitFor();
    // The page script sizes the bar through the CSSOM, which the policy allows (it slides there).
    const meter = await widthOf(page, '#spawn-progress');
    await expect.poll(() => widthOf(page, '#spawn-bar')).toBeCloseTo(meter, 0);
    await screenshot(page, 'csp-spawn-failed');
    await page.unroute('**/server/progress');
    expect(errors).toEqual([]);
  }, SLOW_TEST_MS);

  it('a workflow page with tasks, the workflow list with progress bars, sharing and the 404 page', async () => {
    const { page, errors } = await as('alice');
    await openServerPage(page, site, 'alice', 'workflows/mixed');
    await waitLive(page);
    await page.locator('#workflow-controls button', { hasText: /^\s*Play\s*$/ }).click();
    await page.locator('tr[data-task="1/hang"] .state-running').waitFor();
    await page.locator('tr[data-task="1/bad"] .state-failed').waitFor();
    await page.locator('tr[data-task="1/ok"] .state-succeeded').waitFor();
    const inputs: [string, number][] = [['#hold-point', 5.5], ['#xtrigger-name', 9], ['#xtrigger-cycle', 6.5], ['#window-extent', 4.5], ['#log-submit', 6.5], ['#log-tail', 5]];
    for (const [selector, rem] of inputs) expect(await widthOf(page, selector), selector).toBeCloseTo(rem * REM_PX, 1);
    // The selection column is as narrow as its checkbox allows.
    expect(await widthOf(page, '#tasks thead th:first-child')).toBeLessThan(48);
    await screenshot(page, 'csp-workflow');

    await openServerPage(page, site, 'alice');
    const bar = page.locator('tr[data-workflow=mixed] .progress');
    await bar.locator('.fill-running').waitFor();
    const fills = await bar.locator('span').evaluateAll((spans) => spans.map((s) => ({ n: Number.parseInt(s.getAttribute('title') ?? '', 10), width: s.getBoundingClientRect().width })));
    const total = fills.reduce((sum, f) => sum + f.n, 0);
    expect(fills.length).toBeGreaterThanOrEqual(3);
    const barWidth = await widthOf(page, 'tr[data-workflow=mixed] .progress');
    for (const f of fills) expect(Math.abs(f.width - (barWidth * f.n) / total)).toBeLessThan(1);
    const table = await widthOf(page, '#workflows');
    expect(Math.abs((await widthOf(page, '#workflows thead th:nth-child(3)')) - 0.38 * table)).toBeLessThan(2);
    await screenshot(page, 'csp-workflows');

    await openServerPage(page, site, 'alice', 'sharing');
    await page.locator('#wf-pick option[value=mixed]').waitFor({ state: 'attached' });
    await page.selectOption('#wf-pick', 'mixed');
    await page.locator('#wf-editor').waitFor();
    await screenshot(page, 'csp-sharing');

    const missing = await page.goto(`${site.url}/user/alice/workflows/nope`);
    expect(missing?.status()).toBe(404);
    await screenshot(page, 'csp-server-404');

    await page.goto(`${site.url}/hub/monitor`);
    await page.locator('#monitor tr .progress .fill-running').waitFor();
    await screenshot(page, 'csp-monitor');
    expect(errors).toEqual([]);
  }, SLOW_TEST_MS);

  it('the admin page, with a member added to a group', async () => {
    const { page, errors } = await as('root');
    await page.goto(`${site.url}/hub/admin`);
    await page.fill('tr[data-group=ops] .add-member input[name=user]', 'root');
    await page.click('tr[data-group=ops] .add-member button[type=submit]');
    await page.locator('tr[data-group=ops] .chip[data-member=root] .chip-x').waitFor();
    await screenshot(page, 'csp-admin');
    expect(errors).toEqual([]);
  }, SLOW_TEST_MS);
});
