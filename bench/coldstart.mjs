// Cold-start benchmark: how long a stopped workflow server takes to be useful, from a real hub
// (its own process, on a temporary site) that spawns real workflow servers (bin/flotilla server).
//   api    POST /hub/api/users/alice/server -> first 200 of GET /user/alice/api/userprofile
//          (alice's own API token; the GET is retried at once until it answers 200)
//   page   Chromium (playwright-core, /usr/bin/chromium) signed in as alice opens /user/alice/
//          while the server is stopped -> the workflow list shows its row (the spawn page pushed
//          progress, then moved on)
//   memory the workflow server's VmRSS after it has been idle for a moment
// Each round stops the server first (DELETE …/server). CPU figures (the server process's own
// utime+stime when the hub calls it ready, and at its first answer) are steadier on a busy machine
// than wall-clock figures.
//
// Settings (environment): BENCH_ROUNDS (default 8 api rounds, 5 page rounds), BENCH_QUICK=1 (3 and 2).
// Needs dist/ (npm run build).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..');
const OWNER = 'alice';
const CHROMIUM = '/usr/bin/chromium';
const QUICK = process.env.BENCH_QUICK === '1';
const API_ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 8));
const PAGE_ROUNDS = Math.max(1, Math.round(API_ROUNDS * 0.6));
const CLK_TCK = 100;

/** The hub, run in a child process: a temp site with alice (one workflow) and her token. */
async function runHub() {
  const { HtpasswdFile } = await import(join(ROOT, 'dist/htpasswd/index.js'));
  const { parseSiteConfig } = await import(join(ROOT, 'dist/config/index.js'));
  const { createHub } = await import(join(ROOT, 'dist/hub/index.js'));
  const { silentLogger } = await import(join(ROOT, 'dist/util/logger.js'));
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-coldstart-'));
  const password = randomBytes(12).toString('hex');
  await new HtpasswdFile(join(dir, 'htpasswd')).add(OWNER, password, 4);
  const workflow = join(dir, 'users', OWNER, 'workflows', 'example');
  mkdirSync(workflow, { recursive: true });
  writeFileSync(join(workflow, 'flow.yaml'), 'tasks:\n  hello:\n    script: "true"\n');
  const raw = {
    JupyterHub: {
      data_dir: dir,
      authenticator: { htpasswd_file: join(dir, 'htpasswd') },
      load_roles: [{ name: 'user', scopes: ['self', 'access:servers'] }],
    },
    WorkflowServer: {},
  };
  writeFileSync(join(dir, 'jupyter_config.json'), JSON.stringify(raw));
  const config = parseSiteConfig(raw, join(dir, 'jupyter_config.json'), dir, join(dir, 'jupyter_config.json'));
  const hub = createHub(config, { logger: silentLogger() });
  const address = await hub.listen(0, '127.0.0.1');
  const { token } = hub.context.tokens.create(OWNER, { note: 'bench' });
  const stop = async () => {
    await hub.context.servers.stop(OWNER).catch(() => {});
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.stdout.write(`READY ${address.port} ${token} ${password} ${dir}\n`);
}

function startHub() {
  const child = spawn(process.execPath, [HERE, '--hub'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/READY (\d+) (\S+) (\S+) (\S+)\n/);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}`, token: m[2], password: m[3], dataDir: m[4] });
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}) before it was ready: ${seen}`)));
  });
}

/** utime+stime of a process in milliseconds, from /proc (undefined once it is gone). */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function rssMb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

async function main() {
  const hub = await startHub();
  const auth = { authorization: `token ${hub.token}` };
  const api = (method, path) => fetch(`${hub.url}${path}`, { method, headers: auth });
  const { serverProcessesOf } = await import(join(ROOT, 'dist/spawner/server-process.js'));
  const serverPid = () => serverProcessesOf(OWNER, hub.dataDir)[0];
  const stopServer = async () => {
    const res = await api('DELETE', `/hub/api/users/${OWNER}/server`);
    if (res.status !== 204 && res.status !== 202) throw new Error(`stop: ${res.status} ${await res.text()}`);
    for (let i = 0; i < 200; i++) {
      const user = await (await api('GET', `/hub/api/users/${OWNER}`)).json();
      if (user.status === 'stopped' || user.server === null) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the server did not stop');
  };

  const apiMs = [];
  const apiCpuMs = [];
  const readyCpuMs = [];
  let idleRss = NaN;
  try {
    for (let round = 0; round < API_ROUNDS; round++) {
      await stopServer();
      const t0 = performance.now();
      const started = await api('POST', `/hub/api/users/${OWNER}/server`);
      if (started.status !== 201 && started.status !== 202) throw new Error(`start: ${started.status} ${await started.text()}`);
      // 201: the hub has had the server's report and its health answer; GraphQL may still be loading.
      const readyPid = started.status === 201 ? serverPid() : undefined;
      if (readyPid !== undefined) readyCpuMs.push(cpuMs(readyPid) ?? NaN);
      for (;;) {
        const res = await api('GET', `/user/${OWNER}/api/userprofile`);
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (performance.now() - t0 > 60_000) throw new Error(`no 200 within 60 s (last ${res.status})`);
      }
      apiMs.push(performance.now() - t0);
      const pid = serverPid();
      if (pid !== undefined) apiCpuMs.push(cpuMs(pid) ?? NaN);
      if (round === API_ROUNDS - 1 && pid !== undefined) {
        // Idle: once start-up work (engine, first page) has settled.
        await new Promise((r) => setTimeout(r, 2000));
        idleRss = rssMb(pid);
      }
    }

    const pageMs = [];
    let pageNote = '';
    if (!existsSync(CHROMIUM)) {
      pageNote = `peer chromium: not installed (${CHROMIUM}); page figure skipped`;
    } else {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'] });
      try {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${hub.url}/hub/login`);
        await page.fill('input[name=username]', OWNER);
        await page.fill('input[name=password]', hub.password);
        await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/hub/login')), page.click('button[type=submit]')]);
        for (let round = 0; round < PAGE_ROUNDS; round++) {
          await stopServer();
          const t0 = performance.now();
          await page.goto(`${hub.url}/user/${OWNER}/`);
          await page.locator('#workflows tbody tr').first().waitFor({ state: 'visible', timeout: 60_000 });
          pageMs.push(performance.now() - t0);
        }
      } finally {
        await browser.close();
      }
    }

    const rows = [['figure', 'rounds', 'p50', 'max']];
    rows.push(['api: POST …/server -> first 200 (ms)', String(apiMs.length), quantile(apiMs, 0.5).toFixed(0), Math.max(...apiMs).toFixed(0)]);
    rows.push(['server CPU to ready (ms)', String(readyCpuMs.length), quantile(readyCpuMs, 0.5).toFixed(0), Math.max(...readyCpuMs).toFixed(0)]);
    rows.push(['server CPU to first 200 (ms)', String(apiCpuMs.length), quantile(apiCpuMs, 0.5).toFixed(0), Math.max(...apiCpuMs).toFixed(0)]);
    if (pageMs.length) rows.push(['page: /user/alice/ -> list shown (ms)', String(pageMs.length), quantile(pageMs, 0.5).toFixed(0), Math.max(...pageMs).toFixed(0)]);
    rows.push(['server idle VmRSS (MB)', '1', idleRss.toFixed(1), '']);
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const [i, row] of rows.entries()) {
      console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
      if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    if (pageNote) console.log(pageNote);
    const result = {
      coldstart_api_ms: Math.round(quantile(apiMs, 0.5)),
      coldstart_api_max_ms: Math.round(Math.max(...apiMs)),
      coldstart_server_cpu_to_ready_ms: Math.round(quantile(readyCpuMs, 0.5)),
      coldstart_server_cpu_ms: Math.round(quantile(apiCpuMs, 0.5)),
      ...(pageMs.length ? { coldstart_page_ms: Math.round(quantile(pageMs, 0.5)), coldstart_page_max_ms: Math.round(Math.max(...pageMs)) } : {}),
      server_idle_rss_mb: Math.round(idleRss * 10) / 10,
    };
    // A figure that could not be taken is left out rather than printed as null.
    console.log(`RESULT ${JSON.stringify(Object.fromEntries(Object.entries(result).filter(([, v]) => Number.isFinite(v))))}`);
  } finally {
    hub.child.kill('SIGTERM');
    await new Promise((r) => hub.child.once('exit', r));
  }
}

if (process.argv.includes('--hub')) await runHub();
else await main();
