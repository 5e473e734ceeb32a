/**
 * A stalled workflow in Chromium: a task fails, the workflow stays up as `stalled` instead of
 * stopping, and the owner re-runs the failed task from the workflow page, after which the run
 * completes and the page says how it ended.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, launchBrowser, openServerPage, screenshot, signIn, startSite, waitLive,
  SLOW_TEST_MS, type RunningSite,
} from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1' };
// `fetch` fails until the file `fixed` appears in the run directory (its working directory).
const FLAKY = `description: Fails until fixed
tasks:
  fetch: { script: "test -f fixed" }
  report: { script: "echo report", depends: [fetch] }
`;

describe.skipIf(!chromiumAvailable)(`a stalled workflow in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;

  beforeAll(async () => {
    [site, browser] = await Promise.all([startSite({ users: PASSWORDS, workflows: { alice: { flaky: FLAKY } } }), launchBrowser()]);
  }, SLOW_TEST_MS);

  afterAll(async () => {
    await browser?.close();
    await site?.stop();
  }, SLOW_TEST_MS);

  it('stalls on the failed task, which the owner triggers again from the page; the run then completes', async () => {
    const { page, errors, context } = await signIn(browser, site, 'alice', PASSWORDS.alice);
    await openServerPage(page, site, 'alice', 'workflows/flaky');
    await waitLive(page);
    await page.locator('#workflow-controls button', { hasText: /^\s*Play\s*$/ }).click();

    await page.locator('#wf-status .status-stalled').waitFor();
    await page.locator('tr[data-task="1/fetch"] .state-failed').waitFor();
    expect(await page.locator('tr[data-task="1/report"] .state-waiting').count()).toBe(1);
    await screenshot(page, 'stalled');

    writeFileSync(join(site.dataDir, 'users', 'alice', 'runs', 'flaky', 'fixed'), '');
    await page.getByRole('checkbox', { name: 'Select 1/fetch' }).check();
    const trigger = page.getByRole('button', { name: 'Trigger', exact: true });
    expect(await trigger.isEnabled()).toBe(true);
    await trigger.click();

    await page.locator('tr[data-task="1/report"] .state-succeeded').waitFor();
    await page.locator('#wf-status .status-stopped').waitFor();
    expect(await page.locator('tr[data-task="1/fetch"] .state-succeeded').count()).toBe(1);
    expect(await page.locator('#wf-status .last-run').innerText()).toBe('completed: 2 succeeded');
    await screenshot(page, 'stalled-rerun-complete');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);
});
