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
// Settings (environment): BENCH_ROUNDS (default 8 api rounds; 5 page rounds), BENCH_QUICK=1 (3 and 3).
// Needs dist/ (npm run build).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { serveBenchSite, startBenchSite } from './lib/bench-site.mjs';
import { cpuMs, rssMb } from './lib/proc.mjs';
import { median, table } from './lib/stats.mjs';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..');
const OWNER = 'alice';
const CHROMIUM = '/usr/bin/chromium';
const QUICK = process.env.BENCH_QUICK === '1';
const API_ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 8));
// An odd count, so that the median is a round's own figure. The first round is also the browser's
// first visit to the server's pages (nothing of them cached yet): reported on its own as well.
const PAGE_ROUNDS = QUICK ? 3 : 5;

async function main() {
  const hub = await startBenchSite(HERE, ['--hub']);
  const auth = { authorization: `token ${hub.tokens[OWNER]}` };
  const api = (method, path) => fetch(`${hub.url}${path}`, { method, headers: auth });
  const { serverProcessesOf } = await import(join(ROOT, 'dist/spawner/server-process.js'));
  const serverPid = () => serverProcessesOf(OWNER, hub.dir)[0];
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
      if (readyPid !== undefined) readyCpuMs.push(cpuMs(readyPid));
      for (;;) {
        const res = await api('GET', `/user/${OWNER}/api/userprofile`);
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (performance.now() - t0 > 60_000) throw new Error(`no 200 within 60 s (last ${res.status})`);
      }
      apiMs.push(performance.now() - t0);
      const pid = serverPid();
      if (pid !== undefined) apiCpuMs.push(cpuMs(pid));
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
        await page.fill('input[name=password]', hub.passwords[OWNER]);
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

    const row = (figure, values) => [figure, values.length, median(values).toFixed(0), Math.max(...values).toFixed(0)];
    const rows = [
      row('api: POST …/server -> first 200 (ms)', apiMs),
      row('server CPU to ready (ms)', readyCpuMs),
      row('server CPU to first 200 (ms)', apiCpuMs),
      ...(pageMs.length ? [row('page: /user/alice/ -> list shown (ms)', pageMs), row('page, first visit (nothing cached) (ms)', pageMs.slice(0, 1))] : []),
      ['server idle VmRSS (MB)', 1, idleRss.toFixed(1), ''],
    ];
    console.log(table(['figure', 'rounds', 'p50', 'max'], rows));
    if (pageNote) console.log(pageNote);
    const result = {
      coldstart_api_ms: Math.round(median(apiMs)),
      coldstart_api_max_ms: Math.round(Math.max(...apiMs)),
      coldstart_server_cpu_to_ready_ms: Math.round(median(readyCpuMs)),
      coldstart_server_cpu_ms: Math.round(median(apiCpuMs)),
      ...(pageMs.length
        ? { coldstart_page_ms: Math.round(median(pageMs)), coldstart_page_max_ms: Math.round(Math.max(...pageMs)), coldstart_page_first_visit_ms: Math.round(pageMs[0]) }
        : {}),
      server_idle_rss_mb: Math.round(idleRss * 10) / 10,
    };
    // A figure that could not be taken is left out rather than printed as null.
    console.log(`RESULT ${JSON.stringify(Object.fromEntries(Object.entries(result).filter(([, v]) => Number.isFinite(v))))}`);
  } finally {
    hub.child.kill('SIGTERM');
    await new Promise((r) => hub.child.once('exit', r));
  }
}

if (process.argv.includes('--hub')) {
  await serveBenchSite({ users: [OWNER], workflows: { [OWNER]: { example: 'tasks:\n  hello:\n    script: "true"\n' } }, tokens: [OWNER] });
}
else await main();
