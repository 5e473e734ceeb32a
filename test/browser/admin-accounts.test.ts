/**
 * Account management on the admin page, in Chromium against a real `bin/flotilla hub`: an admin
 * adds an account (written to the htpasswd file as `flotilla passwd add` writes it), the new
 * person signs in, the admin removes the account and the person's session ends; "Stop all
 * servers" stops every running server after a confirmation. Only admin:users may do any of it,
 * and only with the page's XSRF token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_COST, HtpasswdFile } from '../../src/htpasswd/index.js';
import { chromiumAvailable, CHROMIUM, launchBrowser, screenshot, signIn, startSite, SLOW_TEST_MS, type RunningSite } from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1', root: 'root-pw-3' };
const EXAMPLE = `tasks:
  hello:
    script: echo hello
`;

/** A REST call from the page, with its XSRF token unless told otherwise: status and message. */
async function callApi(page: Page, method: string, path: string, body?: object, withXsrf = true): Promise<{ status: number; message: string }> {
  return await page.evaluate(
    async ({ method, path, body, withXsrf }) => {
      const xsrf = document.querySelector<HTMLMetaElement>('meta[name="_xsrf"]')?.content ?? '';
      const res = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json', ...(withXsrf ? { 'X-XSRFToken': xsrf } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const data = (await res.json().catch(() => ({}))) as { message?: string };
      return { status: res.status, message: data.message ?? '' };
    },
    { method, path, body, withXsrf },
  );
}

describe.skipIf(!chromiumAvailable)(`admin page accounts in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;
  const htpasswd = () => join(site.root, 'htpasswd');

  beforeAll(async () => {
    [site, browser] = await Promise.all([startSite({ users: PASSWORDS, admins: ['root'], workflows: { alice: { example: EXAMPLE } } }), launchBrowser()]);
  }, SLOW_TEST_MS);

  afterAll(async () => {
    await browser?.close();
    await site?.stop();
  }, SLOW_TEST_MS);

  it('adds an account that can sign in, then removes it and ends its session', async () => {
    const admin = await signIn(browser, site, 'root', PASSWORDS.root);
    const { page } = admin;
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${site.url}/hub/admin`);
    // Names lead to the user's server.
    expect(await page.locator('#users tr[data-user=alice] a.user-link').getAttribute('href')).toBe('/user/alice/');
    expect(await page.locator('#users tr[data-user=alice] a.open').getAttribute('href')).toBe('/user/alice/');
    // One's own account cannot be removed here, and the page says why.
    expect(await page.locator('#users tr[data-user=root] button.remove-account').isDisabled()).toBe(true);

    const form = page.locator('#account-form');
    await form.locator('input[name=name]').fill('carol');
    await form.locator('input[name=password]').fill('carol-pw-4');
    await form.locator('input[name=again]').fill('not-the-same');
    await form.locator('button[type=submit]').click();
    expect(await page.locator('.toast.error').innerText()).toContain('The two passwords differ');
    expect(readFileSync(htpasswd(), 'utf8')).not.toContain('carol:');

    await form.locator('input[name=again]').fill('carol-pw-4');
    await form.locator('button[type=submit]').click();
    // The page reloads with the new account in the list.
    await page.locator('#users tr[data-user=carol]').waitFor();
    await screenshot(page, 'admin-account-added');
    // The same file format and cost as `flotilla passwd add`: Apache's $2y$ bcrypt, cost 12.
    const line = readFileSync(htpasswd(), 'utf8').split('\n').find((l) => l.startsWith('carol:'));
    expect(line).toMatch(new RegExp(`^carol:\\$2y\\$${DEFAULT_COST}\\$[./A-Za-z0-9]{53}$`));
    expect(await new HtpasswdFile(htpasswd()).verify('carol', 'carol-pw-4')).toBe(true);

    // A second account of the same name is refused, not a password change.
    expect(await callApi(page, 'POST', '/hub/api/accounts', { name: 'carol', password: 'other' })).toEqual({ status: 409, message: 'carol already has an account' });
    const badName = await callApi(page, 'POST', '/hub/api/accounts', { name: 'b ob', password: 'x' });
    expect(badName.status).toBe(400);
    expect(badName.message).toContain('invalid user name');

    const carol = await signIn(browser, site, 'carol', 'carol-pw-4');
    expect(new URL(carol.page.url()).pathname).toBe('/hub/home');
    expect(await carol.page.locator('.whoami').innerText()).toContain('signed in as carol');
    await screenshot(carol.page, 'admin-account-signed-in');

    await page.locator('#users tr[data-user=carol] button.remove-account').click();
    await page.locator('#users tr[data-user=carol]').waitFor({ state: 'detached' });
    expect(readFileSync(htpasswd(), 'utf8')).not.toContain('carol:');
    await screenshot(page, 'admin-account-removed');

    // Carol's session ended with her account: her next page is the sign-in form.
    await carol.page.goto(`${site.url}/hub/home`);
    expect(new URL(carol.page.url()).pathname).toBe('/hub/login');
    expect(await callApi(page, 'DELETE', '/hub/api/accounts/carol')).toEqual({ status: 404, message: 'no account carol in the htpasswd file' });
    expect(admin.errors, admin.errors.join('\n')).toEqual([]);
    await carol.context.close();
    await admin.context.close();
  }, SLOW_TEST_MS);

  it('only admin:users may add or remove accounts, and only with the XSRF token', async () => {
    const alice = await signIn(browser, site, 'alice', PASSWORDS.alice);
    expect((await callApi(alice.page, 'POST', '/hub/api/accounts', { name: 'mallory', password: 'x' })).status).toBe(403);
    expect((await callApi(alice.page, 'DELETE', '/hub/api/accounts/root')).status).toBe(403);
    await alice.context.close();

    const admin = await signIn(browser, site, 'root', PASSWORDS.root);
    await admin.page.goto(`${site.url}/hub/admin`);
    const forged = await callApi(admin.page, 'POST', '/hub/api/accounts', { name: 'mallory', password: 'x' }, false);
    expect(forged.status).toBe(403);
    expect(readFileSync(htpasswd(), 'utf8')).not.toContain('mallory:');
    expect((await callApi(admin.page, 'DELETE', '/hub/api/accounts/root')).message).toContain('cannot remove your own account');
    await admin.context.close();
  }, SLOW_TEST_MS);

  it('stops all running servers after a confirmation', async () => {
    const { page, errors, context } = await signIn(browser, site, 'root', PASSWORDS.root);
    await page.goto(`${site.url}/hub/admin`);
    expect(await page.locator('#stop-all').isDisabled()).toBe(true);
    const alice = page.locator('#users tr[data-user=alice]');
    await alice.locator('button.start').click();
    await alice.locator('button.stop:enabled').waitFor({ timeout: 90_000 });
    await page.waitForLoadState();
    expect(await page.locator('#stop-all').innerText()).toBe('Stop all servers (1)');

    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.locator('#stop-all').click();
    expect(asked[0]).toContain('Stop 1 running server (alice)?');
    expect(await alice.locator('.status-cell .badge').innerText()).toBe('running');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('#stop-all').click();
    // The page reloads with what is true now.
    await alice.locator('.status-cell .badge', { hasText: 'stopped' }).waitFor({ timeout: 60_000 });
    await page.locator('[data-why="No server you may stop is running"] #stop-all:disabled').waitFor();
    expect(await alice.locator('.status-cell .badge').innerText()).toBe('stopped');
    await screenshot(page, 'admin-all-stopped');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);
});
