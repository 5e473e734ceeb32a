import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import WebSocket from 'ws';
import { parseSiteConfig, type SiteConfig } from '../../src/config/index.js';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { createHub, type Hub, type HubOptions } from '../../src/hub/index.js';

export interface HubFixture {
  hub: Hub;
  url: string;
  dir: string;
  config: SiteConfig;
  /** A fresh supertest agent (own cookie jar) against the hub. */
  agent(): ReturnType<typeof request.agent>;
  /** Closes the hub; `keepDir` leaves the data directory for a restart. */
  close(keepDir?: boolean): Promise<void>;
}

export const PASSWORDS: Record<string, string> = {
  alice: 'alice-secret-1',
  bob: 'bob-secret-2',
  carol: 'carol-secret-3',
  admin: 'admin-secret-4',
  mallory: 'mallory-secret-5',
};

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'flotilla-hub-test-'));
}

export async function writeUsers(dir: string, users: Record<string, string> = PASSWORDS): Promise<void> {
  const file = new HtpasswdFile(join(dir, 'htpasswd'));
  for (const [name, password] of Object.entries(users)) await file.add(name, password, 4);
}

/** The site configuration of a test hub in `dir`: data and htpasswd inside it, port 0 on loopback. */
export function testConfig(dir: string, hub: Record<string, unknown> = {}, server: Record<string, unknown> = {}): SiteConfig {
  const { authenticator, ...rest } = hub;
  const raw = {
    JupyterHub: {
      bind_url: 'http://127.0.0.1:8000',
      data_dir: dir,
      ...rest,
      authenticator: { htpasswd_file: join(dir, 'htpasswd'), admin_users: ['admin'], ...(authenticator as object | undefined) },
    },
    WorkflowServer: server,
  };
  writeFileSync(join(dir, 'jupyter_config.json'), JSON.stringify(raw, null, 2));
  return parseSiteConfig(raw, join(dir, 'jupyter_config.json'), dir, join(dir, 'jupyter_config.json'));
}

/** Starts a real hub on 127.0.0.1 (port 0). The data directory is created unless given. */
export async function startHub(
  options: { dir?: string; hub?: Record<string, unknown>; server?: Record<string, unknown>; users?: Record<string, string> } & HubOptions = {},
): Promise<HubFixture> {
  const dir = options.dir ?? makeDataDir();
  if (!options.dir) await writeUsers(dir, options.users);
  const config = testConfig(dir, options.hub, options.server);
  const hub = createHub(config, options);
  const address = await hub.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    hub,
    url,
    dir,
    config,
    agent: () => request.agent(url),
    async close(keepDir = false) {
      await hub.close();
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function xsrfFrom(html: string): string {
  const match = /<meta name="_xsrf" content="([^"]*)">/.exec(html);
  if (!match?.[1]) throw new Error('page carries no _xsrf meta tag');
  return match[1];
}

/** Signs in through the real form; returns the agent's XSRF token for later requests. */
export async function signIn(agent: ReturnType<typeof request.agent>, user: string, password = PASSWORDS[user]!, next?: string) {
  const page = await agent.get('/hub/login');
  const xsrf = xsrfFrom(page.text);
  const res = await agent
    .post('/hub/login')
    .type('form')
    .send({ _xsrf: xsrf, username: user, password, ...(next ? { next } : {}) });
  const home = await agent.get('/hub/home');
  return { res, xsrf: home.status === 200 ? xsrfFrom(home.text) : xsrf };
}

/** The value of one cookie from a response's Set-Cookie headers. */
export function cookieValue(setCookie: string[] | string | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const c of list) if (c.startsWith(`${name}=`)) return c.slice(name.length + 1).split(';')[0];
  return undefined;
}

import { waitFor } from '../wait.js';
export { waitFor };

/** Tries a WebSocket upgrade; resolves with the HTTP status of the refusal (or 101). */
export function upgradeStatus(url: string, headers: Record<string, string>, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, ...(origin ? { origin } : {}) });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (err) => reject(err));
  });
}
