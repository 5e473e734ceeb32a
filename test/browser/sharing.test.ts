/**
 * Another user's workflows in Chromium, against a real hub and real workflow servers: what a
 * visitor sees and may press, live task states, the job log, and the owner's sharing changes
 * reaching the visitor's open page without a reload.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, disabledReason, launchBrowser, markDocument, openServerPage, recordTexts, screenshot,
  signIn, SLOW_TEST_MS, startSite, waitLive, type RunningSite, type Session,
} from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1', bob: 'bob-pw-2', carol: 'carol-pw-3' };
const LOG_WORD = `flotilla-log-${randomBytes(6).toString('hex')}`;
const EXAMPLE = `description: Alice's example
tasks:
  hello:
    script: sleep 1; echo hello
`;
const PIPELINE = `description: Two steps, one after the other
tasks:
  first:
    script: sleep 2; echo first done
  second:
    script: sleep 1; echo second done
    depends: [first]
`;
const ECHO = `description: Says a word once
tasks:
  say:
    script: echo ${LOG_WORD}; echo "to stderr" >&2
`;
const BOB_READ = { bob: ['READ'] };

/** The Play button of the workflow page's controls. */
const play = (page: Page) => page.locator('#workflow-controls button', { hasText: /^\s*Play\s*$/ });
/** The Play button once it may be pressed (permitted, and the workflow stopped). */
const playEnabled = (page: Page) => play(page).and(page.locator('button:enabled'));
/** The state badge of one task in the task table. */
const taskState = (page: Page, task: string) =>
  page.locator('#tasks tbody tr', { has: page.locator('a.task-name', { hasText: new RegExp(`^${task}$`) }) }).locator('.badge');

describe.skipIf(!chromiumAvailable)(`another user's workflows in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;
  const sessions: Session[] = [];

  async function as(user: keyof typeof PASSWORDS): Promise<Session> {
    const session = await signIn(browser, site, user, PASSWORDS[user]);
    sessions.push(session);
    return session;
  }

  /** Opens one workflow's page and waits until it is live and its controls are drawn. */
  async function openWorkflow(page: Page, owner: string, workflow: string): Promise<void> {
    await openServerPage(page, site, owner, `workflows/${workflow}`);
    await waitLive(page);
    await play(page).waitFor();
  }

  beforeAll(async () => {
    [site, browser] = await Promise.all([
      startSite({
        users: PASSWORDS,
        siteAuthorization: { '*': { '*': { default: 'READ', limit: 'ALL' } } },
        sharing: { alice: BOB_READ, carol: { bob: ['READ', 'CONTROL'] } },
        workflows: { alice: { example: EXAMPLE }, carol: { pipeline: PIPELINE, echo: ECHO } },
      }),
      launchBrowser(),
    ]);
    // The owners start their servers by opening them; bob's role reaches them but cannot start them.
    const owners = await Promise.all([as('alice'), as('carol')]);
    await Promise.all(owners.map((s, i) => openServerPage(s.page, site, i === 0 ? 'alice' : 'carol')));
  }, SLOW_TEST_MS);

  afterAll(async () => {
    for (const s of sessions) await s.context.close().catch(() => undefined);
    await browser?.close();
    await site?.stop();
  }, SLOW_TEST_MS);

  it("a reader sees the owner's workflows; Play is disabled and says why", async () => {
    const { page, errors } = await as('bob');
    await openServerPage(page, site, 'alice');
    expect(await page.locator('h1').innerText()).toBe("alice's workflows");
    const row = page.locator('#workflows tbody tr', { has: page.locator('td.name-cell a', { hasText: /^example$/ }) });
    await row.waitFor();
    await Promise.all([page.waitForURL(/\/user\/alice\/workflows\/example$/), row.locator('td.name-cell a').click()]);
    await waitLive(page);
    await play(page).waitFor();
    expect(await play(page).isDisabled()).toBe(true);
    expect(await disabledReason(play(page))).toContain('You do not have the "play" permission');
    await screenshot(page, 'reader-play-disabled');
    expect(errors, errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);

  it('Play works where the owner granted CONTROL, and the task table follows live', async () => {
    const { page, errors } = await as('bob');
    await openWorkflow(page, 'carol', 'pipeline');
    await playEnabled(page).waitFor();
    const unchanged = await markDocument(page);
    // Both tasks' states, in table order (first, second), as they were shown.
    const states = await recordTexts(page, '#tasks tbody .badge[class*="state-"]');

    await play(page).click();
    await taskState(page, 'first').filter({ hasText: 'running' }).waitFor();
    await screenshot(page, 'play-running');
    await taskState(page, 'second').filter({ hasText: 'succeeded' }).waitFor();
    expect(await taskState(page, 'first').innerText()).toBe('succeeded');
    expect(states).toContain('running | waiting');
    expect(states.indexOf('running | waiting')).toBeLessThan(states.indexOf('succeeded | succeeded'));
    expect(states.at(-1)).toBe('succeeded | succeeded');
    expect(await unchanged()).toBe(true);
    await screenshot(page, 'play-succeeded');
    expect(errors, errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);

  it("the log viewer shows a job's output", async () => {
    const { page, errors } = await as('bob');
    await openWorkflow(page, 'carol', 'echo');
    await playEnabled(page).click();
    await taskState(page, 'say').filter({ hasText: 'succeeded' }).waitFor();
    await page.locator('#tasks a.task-name', { hasText: /^say$/ }).click();
    await page.locator('#log', { hasText: LOG_WORD }).waitFor();
    expect(await page.locator('#log-meta').innerText()).toContain('job.out');
    await page.click('.tabs button[data-file="job.err"]');
    await page.locator('#log', { hasText: 'to stderr' }).waitFor();
    expect(await page.locator('#log').innerText()).not.toContain(LOG_WORD);
    await page.click('.tabs button[data-file="job.out"]');
    await page.locator('#log', { hasText: LOG_WORD }).waitFor();
    await screenshot(page, 'job-log');
    expect(errors, errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);

  /** The owner's sharing page: sets bob's permissions and saves. */
  async function shareWithBob(owner: Page, permissions: string): Promise<void> {
    const row = owner.locator('#rules tbody tr', { has: owner.locator('input[aria-label=Who][value=bob]') });
    await row.locator('input[aria-label=Permissions]').fill(permissions);
    await owner.locator('#validation.ok', { hasText: 'not saved yet' }).waitFor();
    await owner.click('#save');
    await owner.locator('#validation.ok', { hasText: 'saved' }).filter({ hasNotText: 'not saved' }).waitFor();
  }

  it("the owner's sharing changes reach the visitor's open page live, down to losing the page", async () => {
    const owner = await as('alice');
    await openServerPage(owner.page, site, 'alice', 'sharing');
    await owner.page.locator('#validation.ok').waitFor();
    const visitor = await as('bob');
    await openWorkflow(visitor.page, 'alice', 'example');
    expect(await play(visitor.page).isDisabled()).toBe(true);
    const unchanged = await markDocument(visitor.page);

    await shareWithBob(owner.page, 'READ, CONTROL');
    await playEnabled(visitor.page).waitFor();
    await screenshot(visitor.page, 'sharing-gained-control');

    await shareWithBob(owner.page, 'READ');
    await play(visitor.page).and(visitor.page.locator('button:disabled')).waitFor();
    expect(await disabledReason(play(visitor.page))).toContain('You do not have the "play" permission');

    await shareWithBob(owner.page, '!ALL');
    await screenshot(owner.page, 'sharing-page');
    await visitor.page.locator('#notices .revoked').waitFor();
    expect(await visitor.page.locator('#notices').innerText()).toContain("Your access to alice's workflows was withdrawn");
    expect(await visitor.page.locator('#tasks').isVisible()).toBe(false);
    expect(await visitor.page.locator('#live').innerText()).toBe('access revoked');
    expect(await unchanged()).toBe(true);
    await screenshot(visitor.page, 'sharing-read-revoked');
    expect(visitor.errors, visitor.errors.join('\n')).toEqual([]);
    expect(owner.errors, owner.errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);

  it("a visitor's open page says when the owner's server stops, and comes back by itself when it runs again", async () => {
    const owner = await as('carol');
    const visitor = await as('bob');
    const { page, errors } = visitor;
    await openWorkflow(page, 'carol', 'pipeline');
    await owner.page.goto(`${site.url}/hub/home`);
    const seen = await recordTexts(page, '#live');

    await owner.page.click('#my-stop');
    await owner.page.locator('#my-status', { hasText: 'stopped' }).waitFor({ timeout: 60_000 });
    // bob may not start carol's server: the page says it is not running, and where to go.
    const notice = page.locator('#notices #cut-off.server-stopped');
    await notice.waitFor();
    expect(await notice.innerText()).toContain("carol's server is not running");
    expect(await notice.locator('a', { hasText: 'Go to the hub home page' }).getAttribute('href')).toBe('/hub/home');
    expect(await page.locator('#live').innerText()).toBe('server not running');
    expect(await page.locator('#tasks').isVisible()).toBe(false);
    expect(await play(page).isDisabled()).toBe(true);
    expect(await disabledReason(play(page))).toContain("carol's server is not running");
    expect(await page.locator('.whoami').innerText()).toContain('signed in as bob');
    await screenshot(page, 'server-stopped-under-visitor');

    // The owner starts it again; the visitor's page finds it by itself (retrying at most every 30 s).
    await owner.page.click('#my-start');
    await owner.page.locator('#my-status', { hasText: 'running' }).waitFor({ timeout: 90_000 });
    await page.locator('#live.on').waitFor({ timeout: 90_000 });
    await play(page).waitFor();
    expect(await page.locator('#cut-off').count()).toBe(0);
    expect(await page.locator('#tasks').isVisible()).toBe(true);
    expect(seen).toContain('server not running');
    expect(seen.indexOf('server not running')).toBeLessThan(seen.lastIndexOf('live'));
    expect(errors, errors.join('\n')).toEqual([]);
    expect(owner.errors, owner.errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);

  it("signing out in another tab cuts the open page's live view; the page says so and offers to sign in again", async () => {
    const { context, page, errors } = await as('bob');
    await openWorkflow(page, 'carol', 'pipeline');
    const unchanged = await markDocument(page);
    const other = await context.newPage();
    await other.goto(`${site.url}/hub/home`);
    const reconnectRefused = page.waitForEvent('console', {
      predicate: (m) => /^WebSocket connection to '[^']*\/user\/carol\/subscriptions' failed/.test(m.text()),
    });
    // Awaited below; if the test fails before that, closing the page must not leave it unhandled.
    reconnectRefused.catch(() => undefined);
    await Promise.all([other.waitForURL(/\/hub\/login$/), other.click('form.signout button[type=submit]')]);
    // The hub cuts the proxied socket, and refuses the page's attempt to reconnect.
    await page.locator('#live:not(.on)').waitFor();
    await reconnectRefused;
    expect(await page.locator('#live').innerText()).not.toBe('live');
    const profile = await page.evaluate(async () => {
      const res = await fetch('/user/carol/api/userprofile', { headers: { Accept: 'application/json' }, redirect: 'manual' });
      return { status: res.status, type: res.type };
    });
    expect(profile).toEqual({ status: 401, type: 'basic' });

    // The page learns why the socket was refused and says so, rather than "reconnecting…" forever.
    const notice = page.locator('#notices #cut-off.signed-out');
    await notice.waitFor();
    expect(await notice.innerText()).toContain('You were signed out');
    expect(await page.locator('#live').innerText()).toBe('signed out');
    expect(await page.locator('.whoami').innerText()).not.toContain('signed in as bob');
    expect(await page.locator('.whoami').innerText()).toContain('signed out');
    // Nothing stale stays on show, and nothing can be pressed: each control says why.
    expect(await page.locator('#tasks').isVisible()).toBe(false);
    expect(await page.locator('#wf-summary').isVisible()).toBe(false);
    expect(await play(page).isVisible()).toBe(true);
    expect(await play(page).isDisabled()).toBe(true);
    expect(await disabledReason(play(page))).toContain('You were signed out');
    expect(await page.locator('main').locator('button:enabled, input:enabled, select:enabled, textarea:enabled').count()).toBe(0);
    const signInAgain = notice.locator('a', { hasText: 'Sign in again' });
    expect(await signInAgain.getAttribute('href')).toBe(`/hub/login?next=${encodeURIComponent('/user/carol/workflows/pipeline')}`);
    expect(await unchanged()).toBe(true);
    await screenshot(page, 'signed-out-elsewhere');
    expect(errors, errors.join('\n')).toEqual([]);

    // The link leads back to the same page, live again, once signed in.
    await Promise.all([page.waitForURL(/\/hub\/login\?next=/), signInAgain.click()]);
    await page.fill('input[name=username]', 'bob');
    await page.fill('input[name=password]', PASSWORDS.bob);
    await Promise.all([page.waitForURL(`${site.url}/user/carol/workflows/pipeline`), page.click('button[type=submit]')]);
    await waitLive(page);
    await play(page).waitFor();
    expect(await page.locator('.whoami').innerText()).toContain('signed in as bob');
    expect(errors, errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);
});
