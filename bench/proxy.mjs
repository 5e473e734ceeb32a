// Proxy benchmark: the same small backend reached three ways, side by side in one run:
//   direct                   client -> backend
//   flotilla UserProxy       client -> minimal hub-like server calling proxy.web/ws -> backend
//   configurable-http-proxy  client -> CHP (JupyterHub's proxy, 5.x, run on Node 20) -> backend
// and, as an end-to-end figure of its own (a different backend, so not a like-for-like ratio):
//   flotilla hub, end to end client -> real hub (token lookup, scopes, access check, proof)
//                            -> real workflow server (proof check, authorization) /api/userprofile
// For each: requests/s and p50/p99 latency of small GETs from N concurrent keep-alive clients
// (autocannon), then WebSocket echo round trips/s and their p50/p99 latency from K sockets.
// Backend, hub and CHP are separate processes, as in production; the load comes from this one.
//
// Settings (environment): BENCH_CONNECTIONS (default 32), BENCH_SECONDS per HTTP run (6),
// BENCH_WS_CLIENTS (8), BENCH_WS_SECONDS per WebSocket run (3). Defaults keep it under 2 minutes.
// Needs dist/ (npm run bench builds it first).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..');
const OWNER = 'alice';
const PATH = `/user/${OWNER}/api/ping`;

/** Announces the listening port to the parent on stdout. */
function ready(server) {
  process.stdout.write(`READY ${server.address().port}\n`);
}

async function runBackend() {
  const { WebSocketServer } = await import('ws');
  const body = JSON.stringify({ ok: true, owner: OWNER });
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.listen(0, '127.0.0.1', () => ready(server));
}

/** What the real hub does on /user/NAME/… once it has authenticated the request. */
async function runHub(backendPort) {
  const { UserProxy } = await import(join(ROOT, 'dist/proxy/index.js'));
  const { newServerSecret } = await import(join(ROOT, 'dist/identity/proof.js'));
  const secret = newServerSecret();
  // The one server this bench talks to, as the spawner would describe it once it is running.
  const servers = {
    info: () => ({ url: `http://127.0.0.1:${backendPort}`, secret }),
    touch: () => {},
    wsOpened: () => {},
    wsClosed: () => {},
  };
  const identity = { user: 'bob', groups: ['ops'], owner: OWNER, ownerGroups: [], via: 'token' };
  const proxy = new UserProxy({ spawner: servers, sessionCookieName: 'flotilla-session' });
  const server = createServer((req, res) => proxy.web(req, res, OWNER, identity));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head, OWNER, identity));
  server.listen(0, '127.0.0.1', () => ready(server));
}

/**
 * A real hub on a temporary site, with bob holding a token and READ on alice's running workflow
 * server: what a support script polling someone's server through the hub pays per request.
 */
async function runFullHub() {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { HtpasswdFile } = await import(join(ROOT, 'dist/htpasswd/index.js'));
  const { parseSiteConfig } = await import(join(ROOT, 'dist/config/index.js'));
  const { createHub } = await import(join(ROOT, 'dist/hub/index.js'));
  const { silentLogger } = await import(join(ROOT, 'dist/util/logger.js'));
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-hub-'));
  const htpasswd = new HtpasswdFile(join(dir, 'htpasswd'));
  for (const user of [OWNER, 'bob']) await htpasswd.add(user, randomBytes(12).toString('hex'), 4);
  const raw = {
    JupyterHub: {
      data_dir: dir,
      authenticator: { htpasswd_file: join(dir, 'htpasswd') },
      load_roles: [{ name: 'user', scopes: ['self', 'access:servers'] }],
    },
    WorkflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } },
  };
  // The workflow server reads site_authorization from the file itself.
  writeFileSync(join(dir, 'jupyter_config.json'), JSON.stringify(raw));
  const config = parseSiteConfig(raw, join(dir, 'jupyter_config.json'), dir, join(dir, 'jupyter_config.json'));
  const hub = createHub(config, { logger: silentLogger() });
  const address = await hub.listen(0, '127.0.0.1');
  await hub.context.servers.spawner.start(OWNER);
  const { token } = hub.context.tokens.create('bob', { note: 'bench' });
  const stop = async () => {
    await hub.context.servers.stop(OWNER).catch(() => {});
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.stdout.write(`READY ${address.port} ${token}\n`);
}

const children = [];

function startChild(args, env = {}) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  return child;
}

function portOf(child) {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/READY (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready: ${seen}`)));
  });
}

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(port, path = PATH, headers = {}, deadlineMs = 20_000) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered on port ${port}`);
}

async function startChp(backendPort) {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('configurable-http-proxy/package.json')), 'bin', 'configurable-http-proxy');
  const port = await freePort();
  const apiPort = await freePort();
  const chp = startChild(
    [bin, '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
      '--default-target', `http://127.0.0.1:${backendPort}`, '--log-level', 'error'],
    { CONFIGPROXY_AUTH_TOKEN: randomBytes(16).toString('hex') },
  );
  chp.stdout.resume();
  await waitForHttp(port);
  return port;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function httpLoad(autocannon, port, connections, seconds, path = PATH, headers = {}) {
  const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, headers, connections, duration: seconds, pipelining: 1 });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** K sockets each sending a message and waiting for its echo, over and over, for `seconds`. */
async function wsLoad(WebSocket, port, clients, seconds) {
  const sockets = await Promise.all(
    Array.from({ length: clients }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/user/${OWNER}/subscriptions`);
      await once(ws, 'open');
      return ws;
    }),
  );
  const latencies = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const payload = JSON.stringify({ type: 'next', id: '1', payload: { data: { deltas: { id: 'w1', status: 'running' } } } });
  await Promise.all(
    sockets.map(async (ws) => {
      ws.on('error', () => errors++);
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint();
        const echoed = once(ws, 'message');
        ws.send(payload);
        await echoed;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  for (const ws of sockets) ws.close();
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

function table(rows) {
  const header = ['path', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'errors', 'ws rt/s', 'ws p50 ms', 'ws p99 ms'];
  const direct = rows[0];
  const cells = rows.map((r) => [
    r.name,
    r.http.rps.toFixed(0),
    // autocannon measures HTTP latency in whole milliseconds.
    r.http.p50.toFixed(0),
    r.http.p99.toFixed(0),
    `${((100 * r.http.rps) / direct.http.rps).toFixed(0)}%`,
    String(r.http.errors + (r.ws?.errors ?? 0)),
    r.ws ? r.ws.rate.toFixed(0) : '-',
    r.ws ? r.ws.p50.toFixed(2) : '-',
    r.ws ? r.ws.p99.toFixed(2) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

async function runBench() {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const seconds = Number(process.env.BENCH_SECONDS ?? 6);
  const wsClients = Number(process.env.BENCH_WS_CLIENTS ?? 8);
  const wsSeconds = Number(process.env.BENCH_WS_SECONDS ?? 3);
  const { default: autocannon } = await import('autocannon');
  const { default: WebSocket } = await import('ws');
  const stopAll = () => children.forEach((c) => c.kill('SIGTERM'));
  process.on('exit', stopAll);
  try {
    const backend = startChild([HERE, 'backend']);
    const backendPort = await portOf(backend);
    const hub = startChild([HERE, 'hub', String(backendPort)]);
    const hubPort = await portOf(hub);
    const chpPort = await startChp(backendPort);
    const paths = [
      { name: 'direct', port: backendPort },
      { name: 'flotilla UserProxy', port: hubPort },
      { name: 'configurable-http-proxy', port: chpPort },
    ];
    console.log(
      `proxy benchmark: GET ${PATH} (small JSON), ${connections} keep-alive connections, ${seconds} s each; ` +
        `WebSocket echo from ${wsClients} sockets, ${wsSeconds} s each; Node ${process.version}`,
    );
    const rows = [];
    for (const p of paths) {
      await waitForHttp(p.port);
      // A short warm-up so that JIT and connection set-up do not count.
      await httpLoad(autocannon, p.port, connections, 1);
      const http = await httpLoad(autocannon, p.port, connections, seconds);
      const ws = await wsLoad(WebSocket, p.port, wsClients, wsSeconds);
      rows.push({ name: p.name, http, ws });
    }
    // End to end through the real hub: its own backend (a real workflow server), so its
    // percentage of "direct" is the cost of the whole stack, not of the proxy alone.
    const fullHub = startChild([HERE, 'fullhub']);
    const [fullPort, token] = await new Promise((resolve, reject) => {
      let seen = '';
      fullHub.stdout.setEncoding('utf8');
      fullHub.stdout.on('data', (chunk) => {
        seen += chunk;
        const m = seen.match(/READY (\d+) (\S+)/);
        if (m) resolve([Number(m[1]), m[2]]);
      });
      fullHub.once('exit', (code) => reject(new Error(`hub exited (${code}) before it was ready: ${seen}`)));
    });
    const e2ePath = `/user/${OWNER}/api/userprofile`;
    const auth = { authorization: `token ${token}` };
    await waitForHttp(fullPort, e2ePath, auth);
    await httpLoad(autocannon, fullPort, connections, 1, e2ePath, auth);
    rows.push({ name: 'flotilla hub, end to end', http: await httpLoad(autocannon, fullPort, connections, seconds, e2ePath, auth) });
    console.log(table(rows));
    console.log(`(end to end: GET ${e2ePath} as bob with an API token, through the real hub to alice's real workflow server)`);
  } finally {
    stopAll();
  }
}

const role = process.argv[2];
if (role === 'backend') await runBackend();
else if (role === 'hub') await runHub(Number(process.argv[3]));
else if (role === 'fullhub') await runFullHub();
else await runBench();
