// Scheduler benchmark: a 2,000-task workflow of `true` jobs (a wide fan plus chains) and a
// 20-cycle × 100-task cycling one. Each scenario runs in a fresh child process so that CPU and
// peak memory belong to that engine alone (process.cpuUsage excludes the job processes).
// Run with `npm run bench:scheduler` (builds dist first).
import { fork } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const SCENARIO_LIMIT_MS = 80_000;

const scenarios = {
  'fan+chains 2000': () => {
    const lines = ['tasks:', '  root: { script: "true" }'];
    for (let i = 0; i < 1599; i++) lines.push(`  leaf${i}: { script: "true", depends: [root] }`);
    for (let c = 0; c < 40; c++) {
      for (let s = 0; s < 10; s++) lines.push(`  c${c}_${s}: { script: "true"${s ? `, depends: [c${c}_${s - 1}]` : ''} }`);
    }
    return { yaml: `${lines.join('\n')}\n`, tasks: 2000 };
  },
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

async function runScenario(name) {
  const { WorkflowEngine } = await import('../dist/scheduler/index.js');
  const { yaml, tasks } = scenarios[name]();
  const ownerDir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
  try {
    mkdirSync(join(ownerDir, 'workflows', 'bench'), { recursive: true });
    writeFileSync(join(ownerDir, 'workflows', 'bench', 'flow.yaml'), yaml);
    const engine = new WorkflowEngine({ ownerDir });
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
    const t0 = performance.now();
    const [result] = await engine.command('play', { workflows: ['bench'], by: 'bench' });
    if (!result.ok) throw new Error(result.message);
    let limit;
    await Promise.race([finished, new Promise((r) => (limit = setTimeout(r, SCENARIO_LIMIT_MS)))]);
    clearTimeout(limit);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const wf = engine.getWorkflow('bench');
    const done = wf.stateCounts.succeeded;
    await engine.close();
    return {
      name,
      tasks,
      done,
      complete: wf.status === 'stopped' && done === tasks,
      seconds,
      tasksPerSecond: done / seconds,
      cpuMsPerTask: (cpu.user + cpu.system) / 1000 / Math.max(1, done),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      deltasPerSecond: deltas / seconds,
    };
  } finally {
    rmSync(ownerDir, { recursive: true, force: true });
  }
}

function inChild(name) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--scenario', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => code && reject(new Error(`${name}: exit ${code}`)));
  });
}

function table(rows) {
  const header = ['scenario', 'tasks', 'done', 'seconds', 'tasks/s', 'CPU ms/task', 'peak RSS MB', 'deltas/s'];
  const body = rows.map((r) => [
    r.name, String(r.tasks), `${r.done}${r.complete ? '' : ' (timed out)'}`, r.seconds.toFixed(1), r.tasksPerSecond.toFixed(0),
    r.cpuMsPerTask.toFixed(2), r.peakRssMb.toFixed(0), r.deltasPerSecond.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const at = process.argv.indexOf('--scenario');
if (at !== -1) {
  process.send(await runScenario(process.argv[at + 1]));
  process.exit(0);
} else {
  console.log(`scheduler benchmark: concurrency ${cpus().length * 2} jobs per workflow (cores × 2), Node ${process.version}`);
  const rows = [];
  for (const name of Object.keys(scenarios)) rows.push(await inChild(name));
  console.log(table(rows));
}
