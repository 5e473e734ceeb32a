// Scheduler benchmark: a 2,000-task workflow of `true` jobs (a wide fan plus chains) and a
// 20-cycle × 100-task cycling one, 4 jobs at a time. Each scenario runs in a fresh child process,
// so that its CPU and peak memory belong to that engine alone. Two CPU figures per task:
// - engine: the engine process itself (process.cpuUsage: every thread of it, spawning included);
// - jobs: what each job's own processes used (wrappers, shells, anything they start): every
//   descendant's CPU, from /proc (reaped children's cutime + cstime, plus the figures of children
//   still alive).
// Their sum is the CPU one job costs, engine and wrapper together.
//
// Run with `npm run bench:scheduler` (builds dist first). BENCH_QUICK=1: one 400-task workflow.
// Options: --dist DIR (another build's dist/, e.g. an older commit's, to compare on one machine);
// --only NAME (one scenario); --concurrency N (default 4).
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { table } from './lib/stats.mjs';

const SCENARIO_LIMIT_MS = 120_000;
/** Bare bash processes started for the floor figure, at each width. */
const FLOOR_JOBS = 200;
const QUICK = process.env.BENCH_QUICK === '1';
/** Linux's USER_HZ: the unit of the children's CPU in /proc/PID/stat (fixed at 100 by the kernel ABI). */
const CLOCK_TICKS_PER_S = 100;

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : process.argv[at + 1];
}

const DIST = resolve(option('--dist', new URL('../dist', import.meta.url).pathname));
const CONCURRENCY = Number(option('--concurrency', '4'));

/** A root, `leaves` tasks that depend on it, and `chains` chains of 10. */
function fanAndChains(leaves, chains) {
  const lines = ['tasks:', '  root: { script: "true" }'];
  for (let i = 0; i < leaves; i++) lines.push(`  leaf${i}: { script: "true", depends: [root] }`);
  for (let c = 0; c < chains; c++) {
    for (let s = 0; s < 10; s++) lines.push(`  c${c}_${s}: { script: "true"${s ? `, depends: [c${c}_${s - 1}]` : ''} }`);
  }
  return { yaml: `${lines.join('\n')}\n`, tasks: 1 + leaves + chains * 10 };
}

const scenarios = QUICK
  ? { 'fan+chains 400': () => fanAndChains(319, 8) }
  : {
      'fan+chains 2000': () => fanAndChains(1599, 40),
      'cycling 20x100': () => {
        const lines = ['cycles: 20', 'runahead: 3', 'tasks:'];
        for (let i = 0; i < 100; i++) {
          const deps = [`"t${i}[-1]"`];
          if (i % 10) deps.push(`t${i - 1}`);
          lines.push(`  t${i}: { script: "true", depends: [${deps.join(', ')}] }`);
        }
        return { yaml: `${lines.join('\n')}\n`, tasks: 2000 };
      },
    };

/** utime + stime + cutime + cstime of a process (ms), from /proc/PID/stat; [ppid, ms] */
function procCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name's closing parenthesis: ppid is field 4, utime..cstime 14 to 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { ppid: fields[1], self: ((fields[11] + fields[12]) * 1000) / CLOCK_TICKS_PER_S, children: ((fields[13] + fields[14]) * 1000) / CLOCK_TICKS_PER_S };
}

/**
 * CPU ms of every process this one started, and theirs: children it has reaped (cutime, cstime)
 * plus those still alive (jobs still running, and what they started).
 */
function descendantsCpuMs() {
  let total = procCpu(process.pid).children;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const cpu = procCpu(entry);
      if (cpu.ppid === process.pid) total += cpu.self + cpu.children;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function runScenario(name) {
  const { WorkflowEngine } = await import(pathToFileURL(join(DIST, 'scheduler', 'index.js')).href);
  const { yaml, tasks } = scenarios[name]();
  const ownerDir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
  try {
    mkdirSync(join(ownerDir, 'workflows', 'bench'), { recursive: true });
    writeFileSync(join(ownerDir, 'workflows', 'bench', 'flow.yaml'), yaml);
    const engine = new WorkflowEngine({ ownerDir, concurrency: CONCURRENCY });
    await engine.start();
    let deltas = 0;
    // The end is seen in the deltas themselves: polling getWorkflow would build every task's view
    // and count its cost as the engine's.
    let ran = false;
    let stopped;
    const finished = new Promise((resolve) => (stopped = resolve));
    engine.subscribe(['bench'], (delta) => {
      deltas++;
      const status = delta.updated?.workflow?.status ?? delta.added?.workflow?.status;
      if (status === 'running') ran = true;
      else if (status === 'stopped' && ran) stopped();
    });
    const cpu0 = process.cpuUsage();
    const jobs0 = descendantsCpuMs();
    const t0 = performance.now();
    const [result] = await engine.command('play', { workflows: ['bench'], by: 'bench' });
    if (!result.ok) throw new Error(result.message);
    let limit;
    await Promise.race([finished, new Promise((r) => (limit = setTimeout(r, SCENARIO_LIMIT_MS)))]);
    clearTimeout(limit);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const jobsMs = descendantsCpuMs() - jobs0;
    const wf = engine.getWorkflow('bench');
    const done = wf.stateCounts.succeeded;
    await engine.close();
    const engineMs = (cpu.user + cpu.system) / 1000;
    const per = Math.max(1, done);
    return {
      name,
      tasks,
      done,
      complete: wf.status === 'stopped' && done === tasks,
      seconds,
      tasksPerSecond: done / seconds,
      engineCpuMsPerTask: engineMs / per,
      engineSystemShare: cpu.system / 1000 / Math.max(1e-9, engineMs),
      jobCpuMsPerTask: jobsMs / per,
      totalCpuMsPerJob: (engineMs + jobsMs) / per,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      deltasPerSecond: deltas / seconds,
    };
  } finally {
    rmSync(ownerDir, { recursive: true, force: true });
  }
}

function inChild(name) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, [...process.argv.slice(2), '--scenario', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => code && reject(new Error(`${name}: exit ${code}`)));
  });
}

function schedulerTable(rows) {
  const header = ['scenario', 'tasks', 'done', 'seconds', 'tasks/s', 'engine CPU ms/task', '(system)', 'job CPU ms/task', 'CPU ms/job total', 'peak RSS MB', 'deltas/s'];
  const body = rows.map((r) => [
    r.name, r.tasks, `${r.done}${r.complete ? '' : ' (timed out)'}`, r.seconds.toFixed(1), r.tasksPerSecond.toFixed(0),
    r.engineCpuMsPerTask.toFixed(2), `${(r.engineSystemShare * 100).toFixed(0)}%`, r.jobCpuMsPerTask.toFixed(2),
    r.totalCpuMsPerJob.toFixed(2), r.peakRssMb.toFixed(0), r.deltasPerSecond.toFixed(0),
  ]);
  return table(header, body);
}

const round = (n) => Math.round(n * 100) / 100;

/**
 * What this machine charges for a job's process alone: a fresh bash started, doing nothing, and
 * reaped, `width` at a time, from a bash loop (the CPU of those children, from bash's `times`). A
 * runner that gives every job a bash of its own spends at least this much per job; the rest of
 * "job CPU" is the runner's own work. Where this floor alone is near 10 ms, so is the goal.
 */
function bashFloorMsPerJob(count, width) {
  const script = `for ((i = 0; i < ${count}; i += ${width})); do for ((j = 0; j < ${width}; j++)); do "$BASH" -c true & done; wait; done; times`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8' });
  // `times`: the shell's own user and system time, then its children's, as "XmY.YYYs XmZ.ZZZs".
  const seconds = out.trim().split('\n').at(-1).split(/\s+/).map((t) => {
    const [, m, sec] = /^(\d+)m([\d.]+)s$/.exec(t);
    return Number(m) * 60 + Number(sec);
  });
  return ((seconds[0] + seconds[1]) * 1000) / count;
}

/** The first scenario gives the headline keys; the cycling one adds its own with a suffix. */
function resultLine(rows, floor) {
  const result = { scheduler_floor_bash_cpu_ms_1: round(floor.one), [`scheduler_floor_bash_cpu_ms_${CONCURRENCY}`]: round(floor.wide) };
  for (const [i, r] of rows.entries()) {
    const suffix = i === 0 ? '' : `_${r.name.split(' ')[0]}`;
    Object.assign(result, {
      [`scheduler_tasks_per_s${suffix}`]: round(r.tasksPerSecond),
      [`scheduler_engine_cpu_ms_per_task${suffix}`]: round(r.engineCpuMsPerTask),
      [`scheduler_job_cpu_ms_per_task${suffix}`]: round(r.jobCpuMsPerTask),
      [`scheduler_total_cpu_ms_per_job${suffix}`]: round(r.totalCpuMsPerJob),
      [`scheduler_peak_rss_mb${suffix}`]: round(r.peakRssMb),
      [`scheduler_tasks_done${suffix}`]: r.done,
    });
  }
  return `RESULT ${JSON.stringify(result)}`;
}

const at = process.argv.indexOf('--scenario');
if (at !== -1) {
  process.send(await runScenario(process.argv[at + 1]));
  process.exit(0);
} else {
  const only = option('--only', undefined);
  const names = Object.keys(scenarios).filter((n) => !only || n.startsWith(only));
  console.log(`scheduler benchmark: ${CONCURRENCY} jobs at a time, Node ${process.version}, ${DIST}${QUICK ? ' (quick)' : ''}`);
  const rows = [];
  for (const name of names) rows.push(await inChild(name));
  console.log(schedulerTable(rows));
  const floor = { one: bashFloorMsPerJob(FLOOR_JOBS, 1), wide: bashFloorMsPerJob(FLOOR_JOBS, CONCURRENCY) };
  console.log(`floor on this machine: a fresh bash per job doing nothing costs ${floor.one.toFixed(2)} CPU ms a job one at a time, ` +
    `${floor.wide.toFixed(2)} ms ${CONCURRENCY} at a time (${FLOOR_JOBS} of each, from a bash loop: no engine, no wrapper)`);
  console.log(resultLine(rows, floor));
}
