/**
 * A real site for browser tests: a hub process started from bin/flotilla on a free loopback
 * port, with its own data directory, accounts, groups and workflows, and Debian's Chromium
 * driven by playwright-core. Everything is torn down afterwards, including the workflow
 * servers the hub spawned (they outlive the hub by design, so they are killed by process group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type Request } from 'playwright-core';
import { HtpasswdFile } from '../../src/htpasswd/index.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);
if (!chromiumAvailable) {
  console.warn(`Browser tests skipped: ${CHROMIUM} is missing (Debian: apt-get install -y chromium; .ci/run installs it).`);
}
const REPO = resolve(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(REPO, 'test-results', 'browser');
/** Generous: everything here runs on a loaded 2-core machine. */
export const WAIT_MS = 30_000;
/** Per-test budget for tests that start workflow servers and run workflows. */
export const SLOW_TEST_MS = 120_000;

export interface SiteSpec {
  users: Record<string, string>;
  admins?: string[];
  groups?: Record<string, string[]>;
  siteAuthorization?: object;
  sharing?: Record<string, object>;
  workflows?: Record<string, Record<string, string>>;
}

export interface RunningSite {
  url: string;
  dataDir: string;
  root: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

import { waitFor } from '../wait.js';
export { waitFor };

function killSpawnedServers(dataDir: string): void {
  const dbFile = join(dataDir, 'hub.sqlite');
  if (!existsSync(dbFile)) return;
  try {
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    const rows = db.prepare('SELECT pid FROM servers').all() as { pid: number }[];
    db.close();
    for (const { pid } of rows) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  } catch {
    /* no servers table yet: nothing was spawned */
  }
}

export async function startSite(spec: SiteSpec): Promise<RunningSite> {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-browser-'));
  // As root the hub runs each owner's server as their own uid, which must pass through to their folder.
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const htpasswd = new HtpasswdFile(join(root, 'htpasswd'));
  for (const [user, password] of Object.entries(spec.users)) await htpasswd.add(user, password, 4);
  for (const [owner, workflows] of Object.entries(spec.workflows ?? {})) {
    for (const [name, yaml] of Object.entries(workflows)) {
      const dir = join(dataDir, 'users', owner, 'workflows', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'flow.yaml'), yaml);
    }
  }
  for (const [owner, ua] of Object.entries(spec.sharing ?? {})) {
    mkdirSync(join(dataDir, 'users', owner), { recursive: true });
    writeFileSync(join(dataDir, 'users', owner, 'jupyter_config.json'), JSON.stringify({ WorkflowServer: { user_authorization: ua } }));
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = {
    JupyterHub: {
      bind_url: url,
      data_dir: dataDir,
      authenticator: { htpasswd_file: join(root, 'htpasswd'), admin_users: spec.admins ?? [] },
      load_groups: Object.fromEntries(Object.entries(spec.groups ?? {}).map(([g, users]) => [g, { users }])),
      load_roles: [{ name: 'user', scopes: ['self', 'access:servers', 'read:servers'] }],
      // The progress page every time, however fast the start, for the tests that look at it.
      spawner: { start_timeout: 90, http_timeout: 30, slow_spawn_timeout: 0 },
    },
    WorkflowServer: spec.siteAuthorization ? { site_authorization: spec.siteAuthorization } : {},
  };
  const configFile = join(root, 'jupyter_config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const hub: ChildProcess = spawn(process.execPath, [join(REPO, 'bin', 'flotilla'), 'hub', '--config', configFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn' },
  });
  let output = '';
  hub.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  hub.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => hub.once('exit', () => r()));

  try {
    await waitFor('the hub to answer', async () => {
      if (hub.exitCode !== null) throw new Error(`hub exited: ${output.slice(-2000)}`);
      const res = await fetch(`${url}/hub/login`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
  } catch (err) {
    hub.kill('SIGKILL');
    killSpawnedServers(dataDir);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    dataDir,
    root,
    async stop() {
      hub.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (hub.exitCode === null) hub.kill('SIGKILL');
      killSpawnedServers(dataDir);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
}

/** A signed-in (or not yet signed-in) browser context, with the script errors its pages raised. */
export interface Session {
  context: BrowserContext;
  page: Page;
  /**
   * Uncaught exceptions, console errors (except the browser's own line for a refused request) and
   * Content-Security-Policy violations (securitypolicyviolation events, one line each).
   */
  errors: string[];
}

/** Chromium's own console line for a refused request or WebSocket handshake: expected in these tests. */
export const REFUSAL_LINE = /^(Failed to load resource|WebSocket connection to '[^']*' failed)/;

/**
 * Reports every Content-Security-Policy violation in the context's pages as it happens: what was
 * blocked (`inline` for a style attribute or element), by which directive, where. The listener is
 * installed before the document is parsed, so violations of the markup itself are caught too.
 */
async function reportPolicyViolations(context: BrowserContext, report: (line: string) => void): Promise<void> {
  await context.exposeFunction('__flotillaPolicyViolation', report);
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const where = `${e.sourceFile || e.documentURI}:${e.lineNumber}:${e.columnNumber}`;
      const line = `Content-Security-Policy violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${where}${e.sample ? ` (${e.sample})` : ''}`;
      (window as unknown as { __flotillaPolicyViolation: (line: string) => void }).__flotillaPolicyViolation(line);
    });
  });
}

export async function newSession(browser: Browser): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(WAIT_MS);
  const errors: string[] = [];
  context.on('weberror', (err) => errors.push(err.error().message));
  context.on('console', (msg) => {
    if (msg.type() === 'error' && !REFUSAL_LINE.test(msg.text())) errors.push(msg.text());
  });
  await reportPolicyViolations(context, (line) => errors.push(line));
  const page = await context.newPage();
  tracePage(page);
  return { context, page, errors };
}

/**
 * What each page did, with times since it opened: navigations, WebSockets and their first frames,
 * answers with an error status, failed requests, console errors and script errors, and at the
 * end the requests still unanswered. Said when a page never goes live, so that a failure seen only
 * on a loaded CI machine can be diagnosed from its log (a module script that fails or never
 * arrives stops every script that imports it).
 */
const pageTraces = new WeakMap<Page, { lines: string[]; unanswered: () => string[] }>();

function tracePage(page: Page): void {
  const lines: string[] = [];
  const started = Date.now();
  const note = (line: string): void => void lines.push(`+${Date.now() - started} ms ${line}`);
  const pathOf = (url: string): string => new URL(url).pathname;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) note(`navigated ${frame.url()}`);
  });
  page.on('websocket', (socket) => {
    const name = pathOf(socket.url());
    note(`open ${name}`);
    let received = 0;
    socket.on('framesent', (frame) => note(`sent ${String(frame.payload).slice(0, 60)}`));
    socket.on('framereceived', (frame) => {
      received += 1;
      if (received <= 3) note(`received ${String(frame.payload).slice(0, 60)}`);
    });
    socket.on('socketerror', (error) => note(`error ${error}`));
    socket.on('close', () => note(`closed ${name} after ${received} frames`));
  });
  const pending = new Map<Request, number>();
  page.on('request', (request) => pending.set(request, Date.now() - started));
  page.on('requestfinished', (request) => pending.delete(request));
  page.on('requestfailed', (request) => {
    pending.delete(request);
    note(`request failed ${request.method()} ${pathOf(request.url())}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) note(`answer ${response.status()} to ${response.request().method()} ${pathOf(response.url())}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') note(`console ${message.type()}: ${message.text().slice(0, 200)}`);
  });
  page.on('pageerror', (error) => note(`page error: ${error.message.slice(0, 200)}`));
  pageTraces.set(page, { lines, unanswered: () => [...pending].map(([request, at]) => `+${at} ms ${request.method()} ${pathOf(request.url())} (no answer yet)`) });
}

/** Fills in the sign-in form; resolves once the browser has left the login page. */
export async function signIn(browser: Browser, site: RunningSite, user: string, password: string): Promise<Session> {
  const session = await newSession(browser);
  const { page } = session;
  await page.goto(`${site.url}/hub/login`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/hub/login')), page.click('button[type=submit]')]);
  return session;
}

/**
 * Opens `/user/<owner>/<path>`, going through the hub's start-up progress page when the server is
 * not running yet, and waits for the workflow server's own page.
 */
export async function openServerPage(page: Page, site: RunningSite, owner: string, path = ''): Promise<void> {
  const target = `${site.url}/user/${owner}/${path}`;
  await page.goto(target);
  await page.waitForURL(target, { timeout: 90_000 });
  try {
    await page.locator('#page-data').waitFor({ state: 'attached', timeout: 90_000 });
  } catch (err) {
    // Say what the browser was shown instead (a hub page naming why, a proxy error), so that a
    // failure seen only on a loaded CI machine can be diagnosed from its log.
    const shown = await page.locator('body').innerText({ timeout: 5_000 }).catch(() => '(no body)');
    throw new Error(`${(err as Error).message}\n${page.url()} showed instead:\n${shown.slice(0, 1500)}`);
  }
}

/** Waits until the page's live subscription is up, so that what follows is observed live. */
export async function waitLive(page: Page): Promise<void> {
  try {
    await page.locator('#live.on').waitFor();
  } catch (err) {
    const live = await page.locator('#live').innerText({ timeout: 5_000 }).catch(() => '(no #live)');
    const notices = await page.locator('#notices').innerText({ timeout: 5_000 }).catch(() => '');
    const traced = pageTraces.get(page);
    const trace = [...(traced?.lines.slice(-40) ?? []), ...(traced?.unanswered() ?? [])].join('\n  ');
    throw new Error(`${(err as Error).message}\n#live says "${live}"${notices ? `, notices: ${notices}` : ''}; what the page did:\n  ${trace || '(nothing traced)'}`);
  }
}

/**
 * Records, from now on and across reloads of this page, every distinct text that the elements
 * matching the CSS `selector` show (joined with " | " when several match). States that last a few
 * milliseconds are caught too, so a test can assert the order of what a person would have seen.
 */
let recorders = 0;
export async function recordTexts(page: Page, selector: string): Promise<string[]> {
  const seen: string[] = [];
  const binding = `__flotillaRecord${++recorders}`;
  await page.exposeFunction(binding, (text: string) => {
    if (seen.at(-1) !== text) seen.push(text);
  });
  const install = ({ binding, selector }: { binding: string; selector: string }): void => {
    const report = (): void => {
      const text = Array.from(document.querySelectorAll(selector), (n) => (n.textContent ?? '').trim()).join(' | ');
      if (text) (window as unknown as Record<string, (t: string) => void>)[binding]!(text);
    };
    new MutationObserver(report).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    report();
  };
  await page.addInitScript(install, { binding, selector });
  await page.evaluate(install, { binding, selector });
  return seen;
}

/** Marks the current document, so that a test can prove later that the page was never reloaded. */
export async function markDocument(page: Page): Promise<() => Promise<boolean>> {
  const mark = `m${Math.random().toString(36).slice(2)}`;
  await page.evaluate((m) => ((window as unknown as { __flotillaMark: string }).__flotillaMark = m), mark);
  return async () => (await page.evaluate(() => (window as unknown as { __flotillaMark?: string }).__flotillaMark)) === mark;
}

/**
 * Why a disabled control is disabled, as a person finds out: its own or an enclosing title, the
 * text its aria-describedby points to, or the tooltip an enclosing [data-why] shows on hover.
 * Empty when it gives no reason.
 */
export async function disabledReason(control: Locator): Promise<string> {
  const stated = await control.evaluate((node) => {
    for (let n: Element | null = node; n; n = n.parentElement) if (n.getAttribute('title')) return n.getAttribute('title')!;
    const ids = node.getAttribute('aria-describedby');
    if (ids) return ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim();
    return '';
  });
  if (stated) return stated;
  const holder = control.locator('xpath=ancestor-or-self::*[@data-why][1]');
  if ((await holder.count()) === 0) return '';
  await holder.hover();
  // The stylesheet shows data-why in a ::after box on hover: only a rendered box counts as saying why.
  return await holder.evaluate((n) => {
    const content = getComputedStyle(n, '::after').content;
    return content === 'none' || content === 'normal' || content === '""' ? '' : (n.getAttribute('data-why') ?? '');
  });
}

/** The whole page by default; `fullPage: false` for a page too long to picture (a megabyte of log). */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}
