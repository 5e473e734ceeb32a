// Kill soak: a workflow of 200 tasks, each appending its name to a ledger, run by an engine that
// is SIGKILLed at 60 seeded random points and started again each time; then one last engine
// finishes the run. Prints the duplicates found in the ledger (must be 0) and what is missing.
// Run with `npm run bench` (builds dist first); exits non-zero on any duplicate or loss.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../dist/util/seeded-random.js';

const TASKS = 200;
const KILLS = 60;
const CONCURRENCY = 40;
const SEED = 0x50a4;
const BUDGET_MS = 240_000;

async function engineProcess(ownerDir) {
  const { WorkflowEngine } = await import('../dist/scheduler/index.js');
  const engine = new WorkflowEngine({ ownerDir, concurrency: CONCURRENCY, pollIntervalMs: 200 });
  await engine.start();
  await engine.command('play', { workflows: ['soak'], by: 'soak' });
  process.send?.('ready');
  setInterval(() => {}, 1 << 30);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function soak() {
  const ownerDir = mkdtempSync(join(tmpdir(), 'flotilla-soak-'));
  const ledger = join(ownerDir, 'ledger');
  const names = [...Array(TASKS).keys()].map((i) => `t${String(i).padStart(3, '0')}`);
  const lines = ['tasks:'];
  names.forEach((n, i) => {
    // Every tenth task depends on the one before it, so that recovery also carries the graph.
    const deps = i % 10 === 9 ? `, depends: [${names[i - 1]}]` : '';
    lines.push(`  ${n}: { script: "echo $FLOTILLA_TASK >> ${ledger}; sleep 0.$((RANDOM % 5))"${deps} }`);
  });
  mkdirSync(join(ownerDir, 'workflows', 'soak'), { recursive: true });
  writeFileSync(join(ownerDir, 'workflows', 'soak', 'flow.yaml'), `${lines.join('\n')}\n`);
  const random = seededRandom(SEED);
  const started = Date.now();
  let kills = 0;
  try {
    while (kills < KILLS && Date.now() - started < BUDGET_MS) {
      const child = fork(new URL(import.meta.url).pathname, ['engine', ownerDir], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      if (random() < 0.7) await Promise.race([new Promise((r) => child.once('message', r)), exited]);
      await sleep(Math.floor(random() * 1000));
      child.kill('SIGKILL');
      await exited;
      kills++;
    }
    const { WorkflowEngine } = await import('../dist/scheduler/index.js');
    const engine = new WorkflowEngine({ ownerDir, concurrency: CONCURRENCY, pollIntervalMs: 200 });
    await engine.start();
    let wf = engine.getWorkflow('soak');
    for (let i = 0; i < 1200 && wf.status !== 'stopped'; i++) {
      await sleep(100);
      wf = engine.getWorkflow('soak');
    }
    const log = engine.workflowLog('soak', 10_000);
    await engine.close();
    const runs = readFileSync(ledger, 'utf8').trim().split('\n');
    const seen = new Map();
    for (const n of runs) seen.set(n, (seen.get(n) ?? 0) + 1);
    const duplicates = [...seen].filter(([, c]) => c > 1).map(([n]) => n);
    const missing = names.filter((n) => !seen.has(n));
    const notSucceeded = wf.tasks.filter((t) => t.state !== 'succeeded').length;
    const fenced = log.filter((e) => /never started/.test(e.text)).length;
    const lost = log.filter((e) => e.kind === 'lost').length;
    const leftovers = leftoverJobs(join(ownerDir, 'runs'));
    console.log(`soak: ${TASKS} tasks, ${kills} SIGKILLs of the engine in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`  workflow: ${wf.status}${wf.lastRun ? ` (${wf.lastRun.summary})` : ''}; tasks not succeeded: ${notSucceeded}`);
    console.log(`  submissions fenced before they started (re-submitted): ${fenced}; jobs lost: ${lost}`);
    console.log(`  ledger: ${runs.length} runs; duplicates found: ${duplicates.length}${duplicates.length ? ` (${duplicates.join(', ')})` : ''}; missing: ${missing.length}`);
    console.log(`  job processes left running: ${leftovers}`);
    if (duplicates.length || missing.length || notSucceeded || leftovers) process.exitCode = 1;
  } finally {
    rmSync(ownerDir, { recursive: true, force: true });
  }
}

/** Job wrappers (by their job.pid) still alive: killed, and counted. */
function leftoverJobs(runsDir) {
  let count = 0;
  for (const path of readdirSync(runsDir, { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('job.pid'))) {
    const pid = Number(readFileSync(join(runsDir, path), 'utf8').trim());
    if (!Number.isInteger(pid) || pid < 2) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      count++;
    } catch {
      // gone, as it should be
    }
  }
  return count;
}

if (process.argv[2] === 'engine') await engineProcess(process.argv[3]);
else await soak();
