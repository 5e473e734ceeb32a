/**
 * Sharing one workflow in Chromium, against a real hub and a real workflow server: the owner
 * shares one workflow from its page (the Share panel), and a colleague's open workflow list shows
 * that one appear live, with the controls it allows on its page and none on the others.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, disabledReason, launchBrowser, markDocument, openServerPage, screenshot,
  signIn, SLOW_TEST_MS, startSite, waitLive, type RunningSite, type Session,
} from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1', dan: 'dan-pw-4' };
const FLOW = `description: One step
tasks:
  step:
    script: sleep 1; echo done
`;

const play = (page: Page) => page.locator('#workflow-controls button', { hasText: /^\s*Play\s*$/ });
/** Fills the first row of the sharing editor whose ids start with `prefix`, and waits until it is valid. */
async function fillFirstRow(page: Page, prefix: string, who: string, permissions: string): Promise<void> {
  const row = page.locator(`#${prefix}rules tbody tr`).first();
  await row.locator('input[aria-label="Who"]').fill(who);
  await row.locator('input[aria-label="Permissions"]').fill(permissions);
  await page.locator(`#${prefix}validation.ok`).waitFor();
}
const listed = (page: Page, workflow: string) => page.locator('#workflows tbody a', { hasText: new RegExp(`^${workflow}$`) });

describe.skipIf(!chromiumAvailable)(`sharing one workflow in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;
  const sessions: Session[] = [];

  async function as(user: keyof typeof PASSWORDS): Promise<Session> {
    const session = await signIn(browser, site, user, PASSWORDS[user]);
    sessions.push(session);
    return session;
  }

  beforeAll(async () => {
    [site, browser] = await Promise.all([
      startSite({
        users: PASSWORDS,
        // No site default: dan gets only what alice gives him.
        siteAuthorization: { '*': { '*': { limit: ['READ', 'CONTROL'] } } },
        workflows: { alice: { genome: FLOW, notes: FLOW } },
      }),
      launchBrowser(),
    ]);
    // Nothing server-wide; dan may read the notes workflow alone.
    writeFileSync(
      join(site.dataDir, 'users', 'alice', 'jupyter_config.json'),
      JSON.stringify({ WorkflowServer: { workflow_authorization: { notes: { dan: ['READ'] } } } }),
    );
    const owner = await as('alice');
    await openServerPage(owner.page, site, 'alice');
  }, SLOW_TEST_MS);

  afterAll(async () => {
    for (const s of sessions) await s.context.close().catch(() => undefined);
    await browser?.close();
    await site?.stop();
  });

  it('the owner shares one workflow from its page; the colleague sees it appear live, with the controls it allows', async () => {
    const colleague = await as('dan');
    await openServerPage(colleague.page, site, 'alice');
    await waitLive(colleague.page);
    await listed(colleague.page, 'notes').waitFor();
    expect(await listed(colleague.page, 'genome').count()).toBe(0);
    expect(await colleague.page.locator('#access').innerText()).toContain('only the workflows shared with you');
    const unchanged = await markDocument(colleague.page);

    const owner = sessions[0]!;
    await openServerPage(owner.page, site, 'alice', 'workflows/genome');
    await waitLive(owner.page);
    await owner.page.click('#share-panel summary');
    await fillFirstRow(owner.page, 'share-', 'dan', 'READ, CONTROL');
    await owner.page.locator('#share-preview tbody', { hasText: 'dan' }).waitFor();
    await owner.page.click('#share-save');
    await owner.page.locator('#share-validation', { hasText: /Valid · saved$/ }).waitFor();
    await screenshot(owner.page, 'share-panel');

    // On the colleague's open list, without a reload.
    await listed(colleague.page, 'genome').waitFor();
    expect(await unchanged()).toBe(true);
    await screenshot(colleague.page, 'shared-workflow-appeared');

    await listed(colleague.page, 'genome').click();
    await waitLive(colleague.page);
    await play(colleague.page).and(colleague.page.locator('button:enabled')).waitFor();

    // Taken back from the same panel: the colleague's open page loses the workflow at once.
    const stillOpen = await markDocument(colleague.page);
    await owner.page.click('#share-remove');
    await colleague.page.locator('#workflow-gone').waitFor();
    expect(await stillOpen()).toBe(true);
    await screenshot(colleague.page, 'shared-workflow-taken-back');

    await openServerPage(colleague.page, site, 'alice', 'workflows/notes');
    await waitLive(colleague.page);
    await play(colleague.page).and(colleague.page.locator('button:disabled')).waitFor();
    expect(await disabledReason(play(colleague.page))).toContain('"play" permission');
    expect(colleague.errors, colleague.errors.join('\n')).toEqual([]);
    expect(owner.errors, owner.errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);

  it('the sharing page edits any workflow\'s section, and says when no such workflow exists yet', async () => {
    const owner = sessions[0]!;
    await openServerPage(owner.page, site, 'alice', 'sharing');
    await owner.page.locator('#wf-pick option', { hasText: 'notes · shared on its own' }).waitFor({ state: 'attached' });
    await owner.page.fill('#wf-new', 'future-run');
    await owner.page.click('#wf-add button');
    await fillFirstRow(owner.page, 'wf-', 'dan', 'READ');
    await owner.page.locator('#wf-note', { hasText: 'No workflow named future-run exists yet' }).waitFor();
    await owner.page.click('#wf-save');
    await owner.page.locator('#wf-pick option', { hasText: 'future-run · shared on its own' }).waitFor({ state: 'attached' });
    await screenshot(owner.page, 'sharing-page-workflow-section');
    expect(owner.errors, owner.errors.join('\n')).toEqual([]);
  }, SLOW_TEST_MS);
});
