/**
 * The workflow page's graph and job log in Chromium: a chain of nine tasks is wider than its
 * panel, so it is fitted (the rightmost node lies inside the panel); zoom buttons, the wheel and
 * dragging move it, and Fit brings it back. A job log larger than the viewer's cap says how much
 * it shows and links to the whole file. The task table reads by name or in graph order, and a
 * stalled workflow stands out in the workflow list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  chromiumAvailable, CHROMIUM, launchBrowser, openServerPage, screenshot, signIn, startSite, waitLive,
  SLOW_TEST_MS, type RunningSite, type Session,
} from './harness.js';

const PASSWORDS = { alice: 'alice-pw-1' };
const NAMES = ['fetch', 'unpack', 'clean', 'regrid', 'merge', 'model', 'verify', 'plot', 'publish'];
const CHAIN = `description: A long chain
tasks:
${NAMES.map((name, i) => `  ${name}: { script: "true"${i ? `, depends: [${NAMES[i - 1]}]` : ''} }`).join('\n')}
`;

const CHATTY = `tasks:
  talk: { script: "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 2200000" }
`;

const BROKEN = `tasks:
  fetch: { script: "false" }
  report: { script: "true", depends: [fetch] }
`;

interface Box { x: number; y: number; width: number; height: number }
const inside = (inner: Box, outer: Box): boolean =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;

async function box(page: Page, selector: string): Promise<Box> {
  const found = await page.locator(selector).boundingBox();
  if (!found) throw new Error(`${selector} has no box`);
  return found;
}

const lastNode = 'svg.graph-svg .graph-node:has(title:text-matches("^1/publish:"))';
const scaleOf = async (page: Page): Promise<number> =>
  Number(/scale\(([\d.]+)\)/.exec((await page.locator('svg.graph-svg .graph-layer').getAttribute('transform')) ?? '')?.[1]);

describe.skipIf(!chromiumAvailable)(`the workflow graph in Chromium (needs ${CHROMIUM})`, () => {
  let site: RunningSite;
  let browser: Browser;

  beforeAll(async () => {
    [site, browser] = await Promise.all([startSite({ users: PASSWORDS, workflows: { alice: { chain: CHAIN, chatty: CHATTY, broken: BROKEN } } }), launchBrowser()]);
  }, SLOW_TEST_MS);

  /** Alice's page of a workflow she has played, once `until` (a selector) is on it. */
  async function play(workflow: string, until: string): Promise<Session> {
    const session = await signIn(browser, site, 'alice', PASSWORDS.alice);
    await openServerPage(session.page, site, 'alice', `workflows/${workflow}`);
    await waitLive(session.page);
    await session.page.locator('#workflow-controls button', { hasText: /^\s*Play\s*$/ }).click();
    await session.page.locator(until).waitFor();
    return session;
  }

  afterAll(async () => {
    await browser?.close();
    await site?.stop();
  }, SLOW_TEST_MS);

  it('fits a graph wider than its panel, zooms with the buttons and the wheel, pans by dragging, and fits again', async () => {
    const { page, errors, context } = await play('chain', 'tr[data-task="1/publish"] .state-succeeded');
    await page.locator(lastNode).waitFor();
    // The page draws each change on its next frame: wait for the whole chain's edges.
    await expect.poll(() => page.locator('svg.graph-svg path.graph-edge').count()).toBe(NAMES.length - 1);

    await page.locator('#graph').scrollIntoViewIfNeeded();
    const panel = await box(page, '#graph'); // in viewport pixels, as the mouse moves
    expect(inside(await box(page, lastNode), panel)).toBe(true);
    expect(inside(await box(page, 'svg.graph-svg .graph-node:has(title:text-matches("^1/fetch:"))'), panel)).toBe(true);
    const fitted = await scaleOf(page);
    expect(fitted).toBeLessThan(1); // nine columns are wider than half the page
    expect(await page.locator('.graph-scale').innerText()).toBe(`${Math.round(fitted * 100)}%`);
    await screenshot(page, 'graph-fitted');

    await page.getByRole('button', { name: 'Zoom in' }).click();
    expect(await scaleOf(page)).toBeCloseTo(fitted * 1.25, 5);
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    expect(inside(await box(page, lastNode), panel)).toBe(false); // zoomed in, the chain no longer fits

    const beforeWheel = await scaleOf(page);
    await page.mouse.move(panel.x + panel.width / 2, panel.y + panel.height / 2);
    await page.mouse.wheel(0, 300);
    await expect.poll(() => scaleOf(page)).toBeLessThan(beforeWheel);

    const before = await box(page, lastNode);
    await page.mouse.move(panel.x + 40, panel.y + panel.height - 20);
    await page.mouse.down();
    await page.mouse.move(panel.x + 140, panel.y + panel.height - 20, { steps: 5 });
    await page.mouse.up();
    expect((await box(page, lastNode)).x).toBeCloseTo(before.x + 100, 0);
    await screenshot(page, 'graph-zoomed-panned');

    await page.getByRole('button', { name: 'Fit the graph to the panel' }).click();
    expect(await scaleOf(page)).toBeCloseTo(fitted, 5);
    expect(inside(await box(page, lastNode), panel)).toBe(true);

    const order = () => page.locator('#tasks tbody tr[data-task]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task')));
    expect(await order()).toEqual([...NAMES].sort().map((n) => `1/${n}`));
    await page.getByText('Graph order').click();
    expect(await order()).toEqual(NAMES.map((n) => `1/${n}`));
    await page.reload();
    await page.locator('tr[data-task="1/publish"]').waitFor();
    expect(await order()).toEqual(NAMES.map((n) => `1/${n}`)); // remembered
    await page.getByText('By name').click();
    expect(await order()).toEqual([...NAMES].sort().map((n) => `1/${n}`));
    await page.locator(lastNode).waitFor();

    // A click on a node (no drag) still opens its job log.
    await page.locator(lastNode).click();
    await expect.poll(() => page.locator('#log-task').inputValue()).toBe('1/publish');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);

  it('says when a job log is cut to its end, in readable sizes, and links to the whole file', async () => {
    const { page, errors, context } = await play('chatty', 'tr[data-task="1/talk"] .state-succeeded');
    await page.locator('#log-tail').fill('1000000');
    await page.locator('#log-task').selectOption('1/talk');
    await expect.poll(() => page.locator('#log-meta').innerText()).toContain('last 1.0 MiB of 2.1 MiB shown');
    const link = page.locator('#log-meta a', { hasText: 'download the whole file' });
    const download = await page.evaluate(async (href) => {
      const res = await fetch(href);
      return { status: res.status, disposition: res.headers.get('content-disposition'), length: (await res.arrayBuffer()).byteLength };
    }, (await link.getAttribute('href'))!);
    expect(download).toEqual({ status: 200, disposition: 'attachment; filename=chatty.1.talk.1.job.out', length: 2_200_000 });
    await page.locator('#log-meta').scrollIntoViewIfNeeded();
    await screenshot(page, 'job-log-truncated', { fullPage: false });

    await page.locator('#log-tail').fill('5');
    await page.locator('#log-tail').dispatchEvent('change');
    await expect.poll(() => page.locator('#log-meta').innerText()).toContain('last 165 B of 2.1 MiB shown'); // four 37-byte lines and the 17 bytes head -c left of the fifth
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);

  it('makes a stalled workflow stand out in the workflow list, in colour and in words', async () => {
    const { page, errors, context } = await play('broken', '#wf-status .status-stalled');
    await openServerPage(page, site, 'alice');
    const row = page.locator('#workflows tr[data-workflow="broken"]');
    await expect.poll(() => row.locator('.attention-note').textContent()).toBe('⚠ Stalled: 1 failed task holding up the rest');
    expect(await row.getAttribute('class')).toBe('needs-attention attention-stalled');
    expect(await page.locator('#workflows tr[data-workflow="chain"]').getAttribute('class')).toBe('');
    await screenshot(page, 'workflow-list-attention');
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  }, SLOW_TEST_MS);
});
