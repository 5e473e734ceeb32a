/**
 * Test helpers for the workflow server: signing proofs as the hub would, starting a real server
 * (in-process, on 127.0.0.1, with a real WorkflowEngine on a temp data dir), and talking to it over
 * HTTP and graphql-transport-ws.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import request from 'supertest';
import WebSocket from 'ws';
import type { SiteSettings } from '../../src/identity/launch.js';
import type { PlatformConfig } from '../../src/config/index.js';
import { newServerSecret, PROOF_HEADER, signProof, type Identity } from '../../src/identity/proof.js';
import { startWorkflowServer, type RunningWorkflowServer } from '../../src/server/app.js';
import type { ServerLimits } from '../../src/server/limits.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';

export const HUB_ORIGIN = 'http://127.0.0.1:8000';

export interface Who {
  user: string | null;
  groups?: string[];
  xsrf?: string;
}

/** The proof header the hub would add for this user, method and exact target. */
export function proofFor(secret: string, owner: string, who: Who, method: string, target: string, ownerGroups: string[] = [], now?: number): Record<string, string> {
  const identity: Identity = {
    user: who.user,
    groups: who.groups ?? [],
    owner,
    ownerGroups,
    via: who.user === null ? 'hub' : 'cookie',
    ...(who.xsrf ? { xsrf: who.xsrf } : {}),
  };
  return { [PROOF_HEADER]: signProof(secret, identity, { method, target }, now) };
}

export interface TestServerOptions {
  owner: string;
  ownerGroups?: string[];
  /** WorkflowServer.site_authorization of the site file; omitted: no site_authorization. */
  site?: unknown;
  /** The owner's user_authorization; omitted: no owner file. */
  ua?: unknown;
  /** Workflow name → flow.yaml text. */
  flows?: Record<string, string>;
  logger?: Logger;
  /** The hub's origin, for the WebSocket Origin check. */
  hubOrigin?: string;
  /** WorkflowServer.limits; omitted: the defaults. */
  limits?: Partial<ServerLimits>;
  /** An existing (empty) data directory, e.g. on a small file system; omitted: a fresh temp dir. */
  dataDir?: string;
  /** WorkflowServer.platforms; omitted: only the built-in local one. */
  platforms?: Record<string, PlatformConfig>;
  /**
   * The hub's group membership at start (group → members), the server's one source of groups;
   * omitted: no groups at all; null: the hub sent none (yet). Groups in a request's proof are not
   * used for decisions.
   */
  groups?: Record<string, string[]> | null;
  /** The owner's workflow_authorization, written beside `ua`. */
  wa?: unknown;
}

export interface TestServer {
  owner: string;
  secret: string;
  dataDir: string;
  ownerFile: string;
  /** Sends new site settings the way the hub does (a signed PUT to the control endpoint). */
  pushSite(site: SiteSettings): Promise<void>;
  /** Sends the hub's full group membership the way the hub does. */
  pushGroups(groups: Record<string, string[]>): Promise<void>;
  base: string;
  running: RunningWorkflowServer;
  url: string;
  /** Signed headers for a request to `target` (path plus query) by `who`. */
  sign(who: Who, method: string, target: string): Record<string, string>;
  get(who: Who, target: string): request.Test;
  put(who: Who, target: string): request.Test;
  post(who: Who, target: string): request.Test;
  delete(who: Who, target: string): request.Test;
  /** POST a GraphQL document to /user/O/graphql. */
  graphql(who: Who, query: string, variables?: Record<string, unknown>, operationName?: string): request.Test;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'flotilla-server-test-'));
  const ownerDir = join(dataDir, 'users', options.owner);
  const ownerFile = join(ownerDir, 'jupyter_config.json');
  mkdirSync(join(ownerDir, 'workflows'), { recursive: true });
  if (options.ua !== undefined || options.wa !== undefined) {
    const section = {
      ...(options.ua !== undefined ? { user_authorization: options.ua } : {}),
      ...(options.wa !== undefined ? { workflow_authorization: options.wa } : {}),
    };
    writeFileSync(ownerFile, JSON.stringify({ WorkflowServer: section }));
  }
  for (const [name, text] of Object.entries(options.flows ?? {})) {
    mkdirSync(join(ownerDir, 'workflows', name), { recursive: true });
    writeFileSync(join(ownerDir, 'workflows', name, 'flow.yaml'), text);
  }
  const secret = newServerSecret();
  // The owner's groups are membership like anyone's: the server takes groups from nowhere else.
  let membership: Record<string, string[]> | null = null;
  if (options.groups !== null) {
    membership = { ...options.groups };
    for (const group of options.ownerGroups ?? []) membership[group] = [...(membership[group] ?? []), options.owner];
  }
  const running = await startWorkflowServer({
    owner: options.owner,
    dataDir,
    site: { workflowServer: options.site === undefined ? {} : { site_authorization: options.site } },
    secret,
    hubOrigin: options.hubOrigin ?? HUB_ORIGIN,
    host: '127.0.0.1',
    port: 0,
    logger: options.logger ?? silentLogger(),
    groups: membership,
    concurrency: 4,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.platforms ? { platforms: options.platforms } : {}),
  });
  const base = `/user/${options.owner}/`;
  const sign = (who: Who, method: string, target: string) => proofFor(secret, options.owner, who, method, target, options.ownerGroups ?? []);
  const agent = request(running.url);
  return {
    owner: options.owner,
    secret,
    dataDir,
    ownerFile,
    async pushSite(site) {
      const target = '/_flotilla/site';
      await agent.put(target).set(sign({ user: null }, 'PUT', target)).send(site).expect(200);
    },
    async pushGroups(groups) {
      const target = '/_flotilla/membership';
      await agent.put(target).set(sign({ user: null }, 'PUT', target)).send({ groups }).expect(200);
    },
    base,
    running,
    url: running.url,
    sign,
    get: (who, target) => agent.get(target).set(sign(who, 'GET', target)),
    put: (who, target) => agent.put(target).set(sign(who, 'PUT', target)),
    post: (who, target) => agent.post(target).set(sign(who, 'POST', target)),
    delete: (who, target) => agent.delete(target).set(sign(who, 'DELETE', target)),
    graphql: (who, query, variables, operationName) =>
      agent
        .post(`${base}graphql`)
        .set(sign(who, 'POST', `${base}graphql`))
        .set('Content-Type', 'application/json')
        .set('Accept', 'application/json')
        .send({ query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) }),
    async close() {
      await running.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type SocketOutcome = { ok: true; ws: WebSocket } | { ok: false; status: number };

/** Opens the subscriptions socket as `who`; resolves with the socket, or the refusal's HTTP status. */
export function openSocket(server: TestServer, who: Who, headers: Record<string, string> = {}): Promise<SocketOutcome> {
  const target = `${server.base}subscriptions`;
  const wsUrl = `${server.url.replace(/^http/, 'ws')}${target}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { headers: { ...server.sign(who, 'GET', target), ...headers } });
    ws.once('open', () => resolve({ ok: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ok: false, status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Opens a socket for `who` and has it acknowledged; `sockets` collects it for closing after the test. */
export async function connectSocket(server: TestServer, who: Who, sockets: GraphqlSocket[], headers: Record<string, string> = {}): Promise<GraphqlSocket> {
  const outcome = await openSocket(server, who, headers);
  if (!outcome.ok) throw new Error(`upgrade refused with ${outcome.status}`);
  const socket = new GraphqlSocket(outcome.ws);
  sockets.push(socket);
  await socket.init();
  return socket;
}

export interface ProtocolMessage {
  type: string;
  id?: string;
  payload?: any;
}

/** Collects every protocol message and the close event of a graphql-transport-ws socket. */
export class GraphqlSocket {
  readonly messages: ProtocolMessage[] = [];
  closed: { code: number; reason: string; at: number } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as ProtocolMessage));
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason), at: Date.now() }));
  }

  send(message: ProtocolMessage): void {
    this.ws.send(JSON.stringify(message));
  }

  async init(payload?: unknown): Promise<void> {
    this.send({ type: 'connection_init', ...(payload !== undefined ? { payload } : {}) });
    await waitFor('connection_ack', () => this.messages.some((m) => m.type === 'connection_ack'));
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>): void {
    this.send({ id, type: 'subscribe', payload: { query, ...(variables ? { variables } : {}) } });
  }

  of(id: string): ProtocolMessage[] {
    return this.messages.filter((m) => m.id === id);
  }
}

import { waitFor } from '../wait.js';
export { waitFor };

/**
 * A stand-in for the hub in browser tests: forwards HTTP and WebSocket requests to the workflow
 * server with a fresh proof for the exact target, for the user named by the `test-user` cookie
 * (the hub would use its session). Start it before the server, so that the server can be told
 * the proxy's origin; set `server` once the server runs.
 */
export class SigningProxy {
  server: TestServer | undefined;
  private readonly http: Server;
  private readonly proxy = createProxyServer({ xfwd: false, ws: true });
  origin = '';

  constructor(private readonly groups: Record<string, string[]> = {}) {
    this.proxy.on('error', () => undefined);
    this.http = createServer((req, res) => {
      const headers = this.headersFor(req);
      if (!headers) return void res.writeHead(503).end('server not started');
      this.proxy.web(req, res, { target: this.server!.url, headers });
    });
    this.http.on('upgrade', (req, socket, head) => {
      const headers = this.headersFor(req);
      if (!headers) return void socket.destroy();
      this.proxy.ws(req, socket, head, { target: this.server!.url, headers });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    const address = this.http.address();
    this.origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this.origin;
  }

  private headersFor(req: IncomingMessage): Record<string, string> | undefined {
    if (!this.server) return undefined;
    const user = /(?:^|;\s*)test-user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? 'nobody';
    return this.server.sign({ user, groups: this.groups[user] ?? [], xsrf: `xsrf-of-${user}` }, req.method ?? 'GET', req.url ?? '/');
  }

  async close(): Promise<void> {
    this.proxy.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
