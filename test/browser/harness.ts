/**
 * A real site for browser tests: a hub process started from bin/flotilla on a free loopback
 * port, with its own data directory, accounts, groups and workflows, and Debian's Chromium
 * driven by playwright-core. Everything is torn down afterwards, including the workflow
 * servers the hub spawned (they outlive the hub by design, so they are killed by process group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { HtpasswdFile } from '../../src/htpasswd/index.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);
const REPO = resolve(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(REPO, 'test-results');

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

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

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

export async function signIn(browser: Browser, site: RunningSite, user: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(`${site.url}/hub/login`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/hub/login')), page.click('button[type=submit], input[type=submit]')]);
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
