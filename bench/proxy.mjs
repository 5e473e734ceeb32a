// Front-door benchmark: authenticated GETs through Flotilla's hub and through JupyterHub's path,
// side by side in one run, with the proxies alone on a bare backend for reference:
//   direct                       client -> bare backend (small JSON; WebSocket echo)
//   flotilla UserProxy           client -> minimal hub-like server calling proxy.web/ws -> bare backend
//   configurable-http-proxy      client -> CHP (JupyterHub's proxy, 5.x, on Node) -> bare backend
//   jupyterhub path              client -> CHP (route /user/alice/, as JupyterHub sets it)
//                                       -> jupyter-server (base_url /user/alice/) checking a token on api/status
//   flotilla hub                 client -> real hub (token lookup, scopes, access check, proof)
//                                       -> real workflow server (proof check, authorization) api/userprofile,
//                                          as bob with an API token and READ on alice's server
// For each: requests/s and p50/p99 latency of small GETs from N concurrent keep-alive clients
// (autocannon), the CPU each process behind the client spent per request (from /proc, the
// stable figure on a busy machine), and for the first three WebSocket echo round trips/s.
// Every server is a separate process, as in production; the load comes from this one.
// jupyter-server comes from Debian (scripts/bench-setup.sh); without it that row says so.
//
// The hub and the jupyterhub path take turns in BENCH_ROUNDS slices of their time (3; 2 quick):
// requests/s is the mean, latencies the median of the slices, CPU over all their requests.
// Settings (environment): BENCH_CONNECTIONS (default 32), BENCH_SECONDS per HTTP path (6),
// BENCH_WS_CLIENTS (8), BENCH_WS_SECONDS per WebSocket run (3), BENCH_WARMUP_REQUESTS before each
// path is measured (3000, at most 10 s); BENCH_QUICK=1 shortens the runs (3 s HTTP, 1 s
// WebSocket, 1000 warm-up requests in at most 2 s). BENCH_JUPYTER_PYTHON names the Python that has jupyter_server.
// Needs dist/ (npm run bench builds it first). Ends with one line `RESULT {...}`.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { announceReady, serveBenchSite, startBenchSite, startChild, stopChildren, whenReady } from './lib/bench-site.mjs';
import { cpuMs } from './lib/proc.mjs';
import { median, percentile, table } from './lib/stats.mjs';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..');
const OWNER = 'alice';
const PATH = `/user/${OWNER}/api/ping`;
const HUB_PATH = `/user/${OWNER}/api/userprofile`;
const JUPYTER_PATH = `/user/${OWNER}/api/status`;

async function runBackend() {
  const { WebSocketServer } = await import('ws');
  const body = JSON.stringify({ ok: true, owner: OWNER });
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.listen(0, '127.0.0.1', () => announceReady({ port: server.address().port }));
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
  const unavailable = (_req, res) => res.writeHead(503).end();
  const proxy = new UserProxy({ spawner: servers, sessionCookieName: 'flotilla-session', unavailable });
  const server = createServer((req, res) => proxy.web(req, res, OWNER, identity));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head, OWNER, identity));
  server.listen(0, '127.0.0.1', () => announceReady({ port: server.address().port }));
}

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(port, path = PATH, headers = {}, deadlineMs = 30_000) {
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
  throw new Error(`nothing answered ${path} on port ${port}`);
}

/** configurable-http-proxy with a default target and the routes JupyterHub would add. */
async function startChp(defaultTarget, routes = {}) {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('configurable-http-proxy/package.json')), 'bin', 'configurable-http-proxy');
  const port = await freePort();
  const apiPort = await freePort();
  const authToken = randomBytes(16).toString('hex');
  const chp = startChild(
    process.execPath,
    [bin, '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
      '--default-target', defaultTarget, '--log-level', 'error'],
    { CONFIGPROXY_AUTH_TOKEN: authToken },
  );
  chp.stdout.resume();
  await waitForHttp(apiPort, '/api/routes', { authorization: `token ${authToken}` });
  for (const [prefix, target] of Object.entries(routes)) {
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/routes${prefix}`, {
      method: 'POST',
      headers: { authorization: `token ${authToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target }),
    });
    if (!res.ok) throw new Error(`configurable-http-proxy refused the route ${prefix}: ${res.status}`);
  }
  return { port, pid: chp.pid };
}

/** A Python with jupyter_server and its version, or undefined. BENCH_JUPYTER_PYTHON names the one
 * to use; otherwise Debian's /usr/bin/python3 (which a pyenv or venv python3 on PATH may hide)
 * and then python3 are tried. */
function findJupyterServer() {
  const named = process.env.BENCH_JUPYTER_PYTHON;
  const candidates = named ? [named] : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import jupyter_server; print(jupyter_server.__version__)'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

/**
 * jupyter-server as JupyterHub runs a single-user server: on loopback under the user's base_url,
 * checking a token, no browser. Its own folders, so no user's Jupyter configuration applies.
 */
async function startJupyterServer({ python, version }, token) {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'flotilla-bench-jupyter-'));
  // jupyter-server 2 moved the token to the identity provider; 1.x has it on ServerApp.
  const tokenOption = Number(version.split('.')[0]) >= 2 ? '--IdentityProvider.token' : '--ServerApp.token';
  const args = ['-m', 'jupyter_server', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, `${tokenOption}=${token}`,
    `--ServerApp.base_url=/user/${OWNER}/`, `--ServerApp.root_dir=${home}`, '--ServerApp.log_level=WARN'];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const child = startChild(python, args, {
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_DATA_DIR: join(home, 'data'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    JUPYTER_PLATFORM_DIRS: '1',
  });
  child.stdout.resume();
  child.once('exit', () => rmSync(home, { recursive: true, force: true }));
  await waitForHttp(port, JUPYTER_PATH, { authorization: `token ${token}` });
  return { port, pid: child.pid };
}

/** One autocannon run, with the CPU that each of `pids` spent per request served during it. */
async function httpLoad(autocannon, port, connections, length, { path = PATH, headers = {}, pids = [] } = {}) {
  const before = pids.map(cpuMs);
  const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, headers, connections, ...length, pipelining: 1 });
  const served = result.requests.total;
  const cpu = pids.map((pid, i) => (cpuMs(pid) - before[i]) * 1000);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    served,
    cpu,
    cpuPerRequest: cpu.map((us) => us / served),
  };
}


/** Several runs of one path as one: mean requests/s, median latencies, CPU over all requests. */
function combined(runs) {
  const served = runs.reduce((sum, r) => sum + r.served, 0);
  const cpu = runs[0].cpu.map((_, i) => runs.reduce((sum, r) => sum + r.cpu[i], 0));
  return {
    rps: runs.reduce((sum, r) => sum + r.rps, 0) / runs.length,
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    served,
    cpu,
    cpuPerRequest: cpu.map((us) => us / served),
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

const micros = (v) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(0));

function frontDoorTable(rows) {
  const header = ['path', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'front µs/req', 'back µs/req', 'ws rt/s', 'ws p50 ms', 'ws p99 ms'];
  const cells = rows.map((r) =>
    r.missing
      ? [r.name, 'not run', ...header.slice(2).map(() => '')]
      : [
          r.name,
          r.http.rps.toFixed(0),
          // autocannon measures HTTP latency in whole milliseconds.
          r.http.p50.toFixed(0),
          r.http.p99.toFixed(0),
          r.http.errors + (r.ws?.errors ?? 0),
          micros(r.http.cpuPerRequest[0]),
          micros(r.http.cpuPerRequest[1]),
          r.ws ? r.ws.rate.toFixed(0) : '-',
          r.ws ? r.ws.p50.toFixed(2) : '-',
          r.ws ? r.ws.p99.toFixed(2) : '-',
        ],
  );
  return table(header, cells);
}

/** The flat figures of the RESULT line; a peer that could not run leaves its keys out. */
function resultFigures(rows) {
  const byKey = Object.fromEntries(rows.filter((r) => !r.missing).map((r) => [r.key, r]));
  const out = {};
  const round = (v, digits = 0) => Number(v.toFixed(digits));
  for (const [key, r] of Object.entries(byKey)) {
    out[`http_rps_${key}`] = round(r.http.rps);
    out[`http_p99_ms_${key}`] = round(r.http.p99, 1);
    out[`http_errors_${key}`] = r.http.errors;
    const [front, back] = r.http.cpuPerRequest;
    if (Number.isFinite(front)) out[`cpu_us_per_req_front_${key}`] = round(front);
    if (Number.isFinite(back)) out[`cpu_us_per_req_back_${key}`] = round(back);
    if (r.ws) out[`ws_rt_per_s_${key}`] = round(r.ws.rate);
  }
  const { hub, jupyter } = byKey;
  if (hub && jupyter) {
    out.http_rps_hub_over_jupyter = round(hub.http.rps / jupyter.http.rps, 3);
    out.http_p99_hub_over_jupyter = round(hub.http.p99 / jupyter.http.p99, 3);
  }
  return out;
}

async function runBench() {
  const quick = process.env.BENCH_QUICK === '1';
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 3 : 6));
  const wsClients = Number(process.env.BENCH_WS_CLIENTS ?? 8);
  const wsSeconds = Number(process.env.BENCH_WS_SECONDS ?? (quick ? 1 : 3));
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 2 : 3));
  const warmUpRequests = Number(process.env.BENCH_WARMUP_REQUESTS ?? (quick ? 1000 : 3000));
  const warmUpCapSeconds = quick ? 2 : 10;
  const { default: autocannon } = await import('autocannon');
  const { default: WebSocket } = await import('ws');
  try {
    // Everything starts at once (idle, they do not disturb each other), the loads run one at a time.
    const jupyter = findJupyterServer();
    const jupyterToken = randomBytes(24).toString('hex');
    const backend = startChild(process.execPath, [HERE, 'backend']);
    const [{ port: backendPort }, fullHub, jupyterServer] = await Promise.all([
      whenReady(backend),
      startBenchSite(HERE, ['fullhub']),
      jupyter ? startJupyterServer(jupyter, jupyterToken) : undefined,
    ]);
    const backendUrl = `http://127.0.0.1:${backendPort}`;
    const userProxy = startChild(process.execPath, [HERE, 'hub', String(backendPort)]);
    const [{ port: userProxyPort }, chp, jupyterChp] = await Promise.all([
      whenReady(userProxy),
      startChp(backendUrl),
      // JupyterHub's CHP: the hub is the default target, each running server has its route.
      jupyterServer ? startChp(backendUrl, { [`/user/${OWNER}`]: `http://127.0.0.1:${jupyterServer.port}` }) : undefined,
    ]);

    const paths = [
      { key: 'direct', name: 'direct (bare backend)', port: backendPort, pids: [backend.pid], ws: true },
      { key: 'userproxy', name: 'flotilla UserProxy -> bare', port: userProxyPort, pids: [userProxy.pid, backend.pid], ws: true },
      { key: 'chp', name: 'CHP -> bare', port: chp.port, pids: [chp.pid, backend.pid], ws: true },
      jupyterChp
        ? { key: 'jupyter', headline: true, name: 'jupyterhub path (CHP -> jupyter-server)', port: jupyterChp.port, path: JUPYTER_PATH, headers: { authorization: `token ${jupyterToken}` }, pids: [jupyterChp.pid, jupyterServer.pid] }
        : { key: 'jupyter', headline: true, name: 'jupyterhub path', missing: 'peer jupyter-server: not installed (scripts/bench-setup.sh)' },
      { key: 'hub', headline: true, name: 'flotilla hub -> workflow server', port: fullHub.port, path: HUB_PATH, headers: { authorization: `token ${fullHub.tokens.bob}` }, pids: [fullHub.hubPid, fullHub.serverPids[OWNER]] },
    ];
    console.log(
      `front-door benchmark: ${connections} keep-alive connections, ${seconds} s per HTTP path ` +
        `(hub and jupyterhub path in ${rounds} alternating slices); ` +
        `WebSocket echo from ${wsClients} sockets, ${wsSeconds} s each; Node ${process.version}` +
        (jupyter ? `; jupyter-server ${jupyter.version}` : ''),
    );
    const rows = [];
    const warmUp = async (p) => {
      await waitForHttp(p.port, p.path ?? PATH, p.headers ?? {});
      // A warm-up of so many requests (on a busy machine one second may be too few for the JIT),
      // bounded in time, so that compiling and connection set-up do not count.
      await new Promise((resolve, reject) => {
        const url = `http://127.0.0.1:${p.port}${p.path ?? PATH}`;
        const run = autocannon({ url, headers: p.headers ?? {}, connections, amount: warmUpRequests }, (err) => {
          clearTimeout(cap);
          if (err) reject(err);
          else resolve();
        });
        const cap = setTimeout(() => run.stop(), warmUpCapSeconds * 1000);
      });
    };
    const measure = (p, secs) => httpLoad(autocannon, p.port, connections, { duration: secs }, { path: p.path ?? PATH, headers: p.headers ?? {}, pids: p.pids });
    for (const p of paths.filter((p) => !p.headline)) {
      await warmUp(p);
      const http = await measure(p, seconds);
      const ws = p.ws ? await wsLoad(WebSocket, p.port, wsClients, wsSeconds) : undefined;
      rows.push({ ...p, http, ws });
    }
    // The two paths compared take turns, a slice each per round, so that a change in the machine's
    // load during the run (other work on a shared machine) falls on both alike.
    const headline = paths.filter((p) => p.headline && !p.missing);
    for (const p of headline) await warmUp(p);
    const runs = new Map(headline.map((p) => [p, []]));
    for (let round = 0; round < rounds; round++) for (const p of headline) runs.get(p).push(await measure(p, seconds / rounds));
    for (const p of paths.filter((p) => p.headline)) {
      if (p.missing) console.log(p.missing);
      rows.push(p.missing ? p : { ...p, http: combined(runs.get(p)) });
    }
    console.log(frontDoorTable(rows));
    console.log(
      `(bare rows: GET ${PATH}; jupyterhub path: GET ${JUPYTER_PATH} with the server's token; flotilla hub: GET ${HUB_PATH} ` +
        `as bob with an API token, through the real hub to alice's real workflow server. front/back µs/req: CPU of the ` +
        `proxy or hub, and of the server behind it, per request served)`,
    );
    console.log(`RESULT ${JSON.stringify(resultFigures(rows))}`);
  } finally {
    stopChildren();
  }
}

const role = process.argv[2];
if (role === 'backend') await runBackend();
else if (role === 'hub') await runHub(Number(process.argv[3]));
else if (role === 'fullhub') {
  // A real hub on a temporary site, with bob holding a token and READ on alice's running workflow
  // server: what a support script polling someone's server through the hub pays per request.
  await serveBenchSite({ users: [OWNER, 'bob'], workflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } }, start: [OWNER], tokens: ['bob'] });
}
else await runBench();
