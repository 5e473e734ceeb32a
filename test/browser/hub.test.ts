/**
 * The hub in Chromium against a real `bin/flotilla hub` with real spawned workflow servers:
 * signing in and out, the home page starting one's own server, and the admin page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, launchBrowser, markDocument, newSession, recordTexts, screenshot, signIn, startSite,
  SLOW_TEST_MS, type RunningSite,
} from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1', bob: 'bob-pw-2', root: 'root-pw-3' };
const EXAMPLE = `description: An example that says hello
tasks:
  hello:
    script: sleep 1; echo hello
`;

describe.skipIf(!chromiumAvailable)(`hub pages in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;

  beforeAll(async () => {
    [site, browser] = await Promise.all([
      startSite({ users: PASSWORDS, admins: ['root'], workflows: { alice: { example: EXAMPLE }, bob: { example: EXAMPLE } } }),
      launchBrowser(),
    ]);
  }, SLOW_TEST_MS);

  afterAll(async () => {
    await browser?.close();
    await site?.stop();
  }, SLOW_TEST_MS);

  it('signs in to the home page and out again', async () => {
    const { page, errors, context } = await signIn(browser, site, 'alice', PASSWORDS.alice);
    expect(new URL(page.url()).pathname).toBe('/hub/home');
    expect(await page.locator('.whoami').innerText()).toContain('signed in as alice');
    await screenshot(page, 'signed-in');

    await Promise.all([page.waitForURL(/\/hub\/login$/), page.click('form.signout button[type=submit]')]);
    await page.goto(`${site.url}/hub/home`);
    expect(new URL(page.url()).pathname).toBe('/hub/login');
    expect(await page.locator('.whoami').innerText()).not.toContain('alice');
    await screenshot(page, 'signed-out');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  });

  it('a wrong password is refused with the same words as an unknown user', async () => {
    const { page, errors, context } = await newSession(browser);
    const attempt = async (user: string, password: string): Promise<{ status: number | undefined; text: string }> => {
      await page.goto(`${site.url}/hub/login`);
      await page.fill('#username', user);
      await page.fill('#password', password);
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
      await page.locator('.notice.error').waitFor();
      return { status: response.status(), text: await page.locator('.notice.error').innerText() };
    };
    const wrong = await attempt('alice', 'not-her-password');
    expect(wrong.text).toBe('Invalid user name or password.');
    expect(new URL(page.url()).pathname).toBe('/hub/login');
    await screenshot(page, 'wrong-password');
    // No user enumeration: a name that does not exist gets exactly the same answer.
    expect(await attempt('nobody-here', 'whatever')).toEqual(wrong);
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  });

  it('home page: start your own server, watch it come up, open it, see the example workflow', async () => {
    const { page, errors, context } = await signIn(browser, site, 'alice', PASSWORDS.alice);
    expect(await page.locator('#my-status').innerText()).toBe('stopped');
    const statuses = await recordTexts(page, '#my-status');
    const details = await recordTexts(page, '#my-detail');
    await page.click('#my-start');
    await page.locator('#my-status', { hasText: 'starting' }).waitFor();
    await screenshot(page, 'home-starting');
    await page.locator('#my-status', { hasText: 'running' }).waitFor({ timeout: 90_000 });
    expect(statuses.slice(statuses.indexOf('stopped'))).toEqual(['stopped', 'starting', 'running']);
    expect(details).toContain('Starting…');
    expect(await page.locator('#my-detail').innerText()).toMatch(/^Running/);
    expect(await page.isEnabled('#my-stop')).toBe(true);
    // No tokens yet: the empty state alone, not a table header over nothing.
    expect(await page.locator('#no-tokens').isVisible()).toBe(true);
    expect(await page.locator('#token-table').isVisible()).toBe(false);
    await screenshot(page, 'home-running');

    await Promise.all([page.waitForURL(`${site.url}/user/alice/`), page.click('#my-open')]);
    const example = page.locator('#workflows tbody tr', { has: page.locator('td.name-cell a', { hasText: /^example$/ }) });
    await example.waitFor();
    expect(await example.innerText()).toContain('An example that says hello');
    expect(await page.locator('h1').innerText()).toBe('Your workflows');
    await screenshot(page, 'own-workflows');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);

  it('admin page lists users and servers, and starts and stops a server', async () => {
    const { page, errors, context } = await signIn(browser, site, 'root', PASSWORDS.root);
    await page.goto(`${site.url}/hub/admin`);
    const rows = page.locator('#users tbody tr[data-user]');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.user))).toEqual(['alice', 'bob', 'root']);
    expect(await page.locator('#users tr[data-user=root] .name-cell').innerText()).toContain('admin');
    const bob = page.locator('#users tr[data-user=bob]');
    const status = bob.locator('.status-cell .badge');
    expect(await status.innerText()).toBe('stopped');
    expect(await bob.locator('button.stop').isDisabled()).toBe(true);

    const seen = await recordTexts(page, '#users tr[data-user=bob] .status-cell');
    await bob.locator('button.start').click();
    await bob.locator('.status-cell .badge', { hasText: 'running' }).waitFor({ timeout: 90_000 });
    expect(seen.slice(seen.indexOf('stopped'))).toEqual(['stopped', 'starting', 'running']);
    // The page reloads itself once the server settles, with the buttons that now make sense.
    await bob.locator('button.stop:enabled').waitFor();
    await page.waitForLoadState();
    expect(await bob.locator('button.start').isDisabled()).toBe(true);
    await screenshot(page, 'admin-started');

    await bob.locator('button.stop').click();
    await bob.locator('.status-cell .badge', { hasText: 'stopped' }).waitFor({ timeout: 60_000 });
    expect(seen.slice(seen.lastIndexOf('running'))).toEqual(['running', 'stopping', 'stopped']);
    await bob.locator('button.start:enabled').waitFor();
    await page.waitForLoadState();
    await screenshot(page, 'admin-stopped');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);

  it('admin page without groups shows the empty state alone, and keeps it right as groups come and go', async () => {
    const { page, errors, context } = await signIn(browser, site, 'root', PASSWORDS.root);
    await page.goto(`${site.url}/hub/admin`);
    const groups = page.locator('#groups');
    await groups.waitFor();
    expect(await groups.locator('#no-groups').innerText()).toContain('No groups yet');
    expect(await groups.locator('table').count()).toBe(0);
    expect(await groups.locator('th').count()).toBe(0);
    expect(await page.locator('#group-form').isVisible()).toBe(true);
    await screenshot(page, 'admin-no-groups');

    // The first group appears with its table, in place: the page is not reloaded.
    const unchanged = await markDocument(page);
    await page.fill('#group-form input[name=name]', 'ops');
    await page.fill('#group-form input[name=users]', 'alice');
    await page.click('#group-form button[type=submit]');
    await page.locator('#group-table tr[data-group=ops]').waitFor();
    expect(await groups.locator('#no-groups').count()).toBe(0);
    expect(await page.locator('#group-table thead th').allTextContents()).toEqual(['Group', 'Source', 'Members', 'Actions']);
    expect(await page.locator('#users tr[data-user=alice] .groups-cell').innerText()).toContain('ops');
    await screenshot(page, 'admin-first-group');

    // Deleting the last group brings back the empty state alone.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#group-table tr[data-group=ops] button.delete-group');
    await page.locator('#groups #no-groups').waitFor();
    expect(await page.locator('#groups table').count()).toBe(0);
    expect(await page.locator('#users tr[data-user=alice] .groups-cell').innerText()).not.toContain('ops');
    expect(await page.locator('#group-form').isVisible()).toBe(true);
    expect(await unchanged()).toBe(true);
    await screenshot(page, 'admin-last-group-deleted');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);

  it('admin page lists a sign-in lockout and clears it', async () => {
    // A name without an account, so that the other tests' sign-ins from this address are untouched.
    const guesser = await newSession(browser);
    for (let i = 0; i < 6; i++) {
      await guesser.page.goto(`${site.url}/hub/login`);
      await guesser.page.fill('#username', 'locked-out-name');
      await guesser.page.fill('#password', `guess-${i}`);
      await Promise.all([guesser.page.waitForResponse((r) => r.request().method() === 'POST'), guesser.page.click('button[type=submit]')]);
    }
    expect(await guesser.page.locator('.notice.error').innerText()).toMatch(/^Too many failed sign-in attempts/);
    await guesser.context.close();

    const { page, errors, context } = await signIn(browser, site, 'root', PASSWORDS.root);
    await page.goto(`${site.url}/hub/admin`);
    const row = page.locator('#lockouts tr[data-limit=per_user_address]');
    expect(await row.locator('.name-cell').innerText()).toBe('locked-out-name from 127.0.0.1');
    await screenshot(page, 'admin-lockout');
    await row.locator('button.clear-lockout').click();
    await page.locator('#lockouts .empty').waitFor();
    expect(await page.locator('#lockouts .empty').innerText()).toBe('Nobody is locked out.');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);

  it('the monitor, signed out in another tab, says so and offers to sign in again', async () => {
    const { page, errors, context } = await signIn(browser, site, 'bob', PASSWORDS.bob);
    await page.goto(`${site.url}/hub/monitor`);
    await page.locator('.owner-tile[data-owner=alice]').waitFor();
    const other = await context.newPage();
    await other.goto(`${site.url}/hub/home`);
    await Promise.all([other.waitForURL(/\/hub\/login$/), other.click('form.signout button[type=submit]')]);

    const notice = page.locator('main > #cut-off.signed-out');
    await notice.waitFor();
    expect(await notice.innerText()).toContain('You were signed out');
    expect(await notice.locator('a', { hasText: 'Sign in again' }).getAttribute('href')).toBe(`/hub/login?next=${encodeURIComponent('/hub/monitor')}`);
    expect(await page.locator('#live').innerText()).toBe('signed out');
    expect(await page.locator('#servers').isVisible()).toBe(false);
    expect(await page.locator('#workflows-card').isVisible()).toBe(false);
    expect(await page.locator('main').locator('button:enabled, input:enabled').count()).toBe(0);
    expect(await page.locator('.whoami').innerText()).not.toContain('signed in as bob');
    await screenshot(page, 'monitor-signed-out');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);
});
