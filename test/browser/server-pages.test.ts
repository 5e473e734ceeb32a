/**
 * The workflow server's honest pages in Chromium, against a real hub: a workflow that does not
 * exist and an unknown address are the product's 404 page; a typo in the site file shows on the
 * owner's sharing page as a banner (never its contents); an invalid owner file is loaded as text
 * to fix in place.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, launchBrowser, openServerPage, screenshot, signIn, SLOW_TEST_MS, startSite, WAIT_MS,
  type RunningSite, type Session,
} from './harness.js';

/** Line 5 is not a key: the YAML parser stops there with a code excerpt. */
const BROKEN_FLOW = `tasks:
  step:
    script: echo one
    depends: []
oops
`;
const SITE_AUTHORIZATION = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
const FLOW = `description: One step
tasks:
  step:
    script: echo done
`;

describe.skipIf(!chromiumAvailable)(`the workflow server's 404 page and sharing warnings in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;
  let owner: Session;

  beforeAll(async () => {
    [site, browser] = await Promise.all([
      startSite({ users: { alice: 'alice-pw-1', bob: 'bob-pw-2' }, siteAuthorization: SITE_AUTHORIZATION, workflows: { alice: { demo: FLOW, broken: BROKEN_FLOW } } }),
      launchBrowser(),
    ]);
    owner = await signIn(browser, site, 'alice', 'alice-pw-1');
    await openServerPage(owner.page, site, 'alice');
  }, SLOW_TEST_MS);

  afterAll(async () => {
    await owner?.context.close().catch(() => undefined);
    await browser?.close();
    await site?.stop();
  });

  it('a workflow that does not exist, and an unknown address, are the 404 page', async () => {
    const { page } = owner;
    const missing = await page.goto(`${site.url}/user/alice/workflows/nope`);
    expect(missing?.status()).toBe(404);
    expect(await page.locator('h1').innerText()).toBe('No such workflow');
    expect(await page.locator('#workflow-controls').count()).toBe(0);
    await screenshot(page, 'server-404-workflow');
    const unknown = await page.goto(`${site.url}/user/alice/nope`);
    expect(unknown?.status()).toBe(404);
    expect(await page.locator('h1').innerText()).toBe('Page not found');
    expect(await page.content()).not.toContain('{"error"');
    await page.click('text=Back to alice\'s workflows');
    await page.locator('#page-data').waitFor({ state: 'attached' });
    expect(owner.errors.filter((e) => !e.includes('404'))).toEqual([]);
  }, SLOW_TEST_MS);

  it("an invalid flow.yaml shows its whole message, and the page says what to fix rather than 'Press Play'", async () => {
    const { page } = owner;
    await openServerPage(page, site, 'alice');
    const listed = page.locator('tr[data-workflow=broken] pre.flow-error');
    await listed.waitFor();
    const listedText = await listed.innerText();
    expect(listedText).toMatch(/line 5, column 1:\n\S/);
    await screenshot(page, 'server-invalid-flow-list');

    await openServerPage(page, site, 'alice', 'workflows/broken');
    const notice = page.locator('#flow-error');
    await notice.waitFor();
    expect(await notice.innerText()).toContain('Fix this in the file, then press Play');
    // The whole message: nothing after "line 5, column 1:" is lost.
    expect(await notice.locator('pre.flow-error').innerText()).toBe(listedText);
    const hint = await page.locator('#no-tasks-hint').innerText();
    expect(hint).toContain('Nothing can run until flow.yaml is fixed');
    expect(hint).not.toContain('Press Play');
    expect(await page.locator('#workflow-controls button', { hasText: 'Play' }).isDisabled()).toBe(true);
    await screenshot(page, 'server-invalid-flow-page');

    // A valid stopped workflow lists the tasks Play starts from, waiting.
    await openServerPage(page, site, 'alice', 'workflows/demo');
    await page.locator('tr[data-task="1/step"] .state-waiting').waitFor();
    expect(await page.locator('#tasks-caption').innerText()).toBe('Stopped: waiting tasks run once the workflow is played.');
    expect(await page.locator('#no-tasks').isHidden()).toBe(true);
    expect(await page.locator('#workflow-controls button', { hasText: 'Play' }).isDisabled()).toBe(false);
    await screenshot(page, 'server-stopped-workflow');
  }, SLOW_TEST_MS);

  it('a typo in the site file shows on the sharing page as a banner, not as "Valid · saved"', async () => {
    const { page } = owner;
    const configFile = join(site.root, 'jupyter_config.json');
    const original = readFileSync(configFile, 'utf8');
    const config = JSON.parse(original);
    config.WorkflowServer.site_authorization['*']['*'].default = 'Trigerr';
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    try {
      // The hub notices the change and tells the server; a fresh load then shows it.
      await expect.poll(async () => {
        await page.goto(`${site.url}/user/alice/sharing`);
        await page.locator('#validation').filter({ hasText: /Valid/ }).waitFor();
        return await page.locator('#site-invalid').isVisible();
      }, { timeout: WAIT_MS, interval: 500 }).toBe(true);
      expect(await page.locator('#site-invalid').innerText()).toContain('The site configuration is invalid');
      expect(await page.content()).not.toContain('Trigerr');
      expect(await page.locator('#validation').getAttribute('class')).not.toContain(' ok');
      expect(await page.locator('#preview-caption').innerText()).toContain('nobody but you has access');
      await screenshot(page, 'server-sharing-site-invalid');
    } finally {
      writeFileSync(configFile, original);
    }
    await expect.poll(async () => {
      await page.goto(`${site.url}/user/alice/sharing`);
      await page.locator('#validation').filter({ hasText: /Valid/ }).waitFor();
      return await page.locator('#site-invalid').isVisible();
    }, { timeout: WAIT_MS, interval: 500 }).toBe(false);
  }, SLOW_TEST_MS);

  it('an invalid owner file is loaded as text, fixed and saved in place', async () => {
    const { page } = owner;
    const ownerFile = join(site.dataDir, 'users', 'alice', 'jupyter_config.json');
    writeFileSync(ownerFile, '{"WorkflowServer": {\n  "user_authorization": {"bob": ["READ", "sudo"]},\n  "workflow_authorization": {"demo": {"bob": ["pause"]}}\n}}\n');
    await expect.poll(async () => {
      await page.goto(`${site.url}/user/alice/sharing`);
      await page.locator('#validation').filter({ hasText: /Valid|✗/ }).waitFor();
      return await page.locator('#file-invalid').count();
    }, { timeout: WAIT_MS, interval: 500 }).toBe(1);
    const text = page.locator('#file-text');
    expect(await text.inputValue()).toContain('"sudo"');
    expect(await page.locator('#validation').innerText()).not.toContain('Valid · saved');
    expect(await page.locator('#preview-caption').innerText()).toContain('nobody but you has access');
    await screenshot(page, 'server-sharing-file-invalid');
    await text.fill((await text.inputValue()).replace(', "sudo"', ''));
    await page.click('#file-fix button[type=submit]');
    await page.locator('#file-invalid').waitFor({ state: 'detached' });
    await expect.poll(() => page.locator('#validation').innerText()).toBe('✓ Valid · saved');
    // Written as the owner fixed it: their layout, their spelling, the workflow section kept.
    expect(readFileSync(ownerFile, 'utf8')).toBe('{"WorkflowServer": {\n  "user_authorization": {"bob": ["READ"]},\n  "workflow_authorization": {"demo": {"bob": ["pause"]}}\n}}\n');
    expect(owner.errors.filter((e) => !e.includes('404') && !e.includes('409'))).toEqual([]);
  }, SLOW_TEST_MS);

  it('warns about keys that name nobody, and Explain explains the draft on screen, verdict first', async () => {
    const { page } = owner;
    writeFileSync(join(site.dataDir, 'users', 'alice', 'jupyter_config.json'), JSON.stringify({ WorkflowServer: { user_authorization: { bob: ['READ'] } } }));
    await expect.poll(async () => {
      await page.goto(`${site.url}/user/alice/sharing`);
      await page.locator('#validation').filter({ hasText: 'Valid · saved' }).waitFor();
      return await page.locator('#rules tbody tr input[value=bob]').count();
    }, { timeout: WAIT_MS, interval: 500 }).toBe(1);
    const addRule = async (who: string, perms: string) => {
      await page.click('#add-row');
      const row = page.locator('#rules tbody tr').last();
      await row.locator('input').first().fill(who);
      await row.locator('input').nth(1).fill(perms);
    };
    await addRule('b ob', 'READ');
    await addRule('carol', 'READ');
    await addRule('group:ghosts', 'READ');
    await page.locator('#validation').filter({ hasText: 'Valid · not saved yet' }).waitFor();
    const warnings = page.locator('#warnings li');
    await expect.poll(() => warnings.count()).toBe(3);
    const texts = await warnings.allInnerTexts();
    expect(texts[0]).toContain('"b ob": no user can ever be called "b ob"');
    expect(texts[1]).toContain('"carol": there is no user carol now; the rule applies if one is made later');
    expect(texts[2]).toContain('"group:ghosts": there is no group ghosts now');

    // bob has READ saved; the draft gives him pause as well.
    const bobRow = page.locator('#rules tbody tr').filter({ has: page.locator('input[value=bob]') });
    await bobRow.locator('input').nth(1).fill('READ, pause');
    await page.locator('#validation').filter({ hasText: 'Valid · not saved yet' }).waitFor();
    await page.fill('#explain-user', 'bob');
    await page.click('#explain-form button[type=submit]');
    const result = page.locator('#explain');
    await result.locator('.explain-of', { hasText: 'draft — not saved' }).waitFor();
    // The verdict comes first, the steps after it (folded).
    expect(await result.locator(':scope > *').evaluateAll((nodes) => nodes.map((n) => n.className))).toEqual(['explain-of small', 'verdict', '']);
    expect(await result.locator('.verdict').innerText()).toMatch(/^bob on alice's server may do read \+ pause: /);
    expect(await result.innerText()).not.toContain('null');
    await screenshot(page, 'server-sharing-explain-draft');

    await page.fill('#explain-user', 'nobody');
    await page.click('#explain-form button[type=submit]');
    await result.locator('.warn-text', { hasText: 'There is no user nobody now' }).waitFor();
    // Nothing was saved: the saved rules are explained once the draft matches them again.
    await page.goto(`${site.url}/user/alice/sharing`);
    await page.locator('#validation').filter({ hasText: 'Valid · saved' }).waitFor();
    await page.fill('#explain-user', 'bob');
    await page.click('#explain-form button[type=submit]');
    await result.locator('.explain-of', { hasText: 'saved rules' }).waitFor();
    expect(await result.locator('.verdict').innerText()).not.toContain('pause');
    await screenshot(page, 'server-sharing-explain-saved');
  }, SLOW_TEST_MS);
});
