// Slurm benchmark: 200 independent `true` tasks on a Slurm platform, through the engine, on the
// local one-node cluster (scripts/slurm-cluster.sh start). Prints submissions per second (sbatch
// calls that returned a job id) and squeue/sacct calls per minute while the jobs run: polling is
// batched, one squeue call per poll interval for all of the platform's jobs, whatever their number.
// Skipped (exit 0, saying why) when no local cluster is running. Needs dist (npm run build).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TASKS = 200;
const POLL_INTERVAL_S = 1;
const LIMIT_MS = 300_000;

const conf = process.env.SLURM_CONF ?? join(process.env.FLOTILLA_SLURM_DIR ?? join(tmpdir(), 'flotilla-slurm'), 'slurm.conf');
function clusterUp() {
  if (!existsSync(conf)) return false;
  try {
    return execFileSync('scontrol', ['ping'], { encoding: 'utf8', env: { ...process.env, SLURM_CONF: conf }, timeout: 10_000 }).includes('is UP');
  } catch {
    return false;
  }
}
if (!clusterUp()) {
  console.log('slurm: skipped, no local Slurm cluster is running (start one with scripts/slurm-cluster.sh start)');
  process.exit(0);
}
process.env.SLURM_CONF = conf;

const { WorkflowEngine } = await import('../dist/scheduler/index.js');
const platforms = {
  cluster: {
    job_runner: 'slurm', directives: {}, poll_interval: POLL_INTERVAL_S, submit_timeout: 60,
    commands: { sbatch: 'sbatch', squeue: 'squeue', sacct: 'sacct', scancel: 'scancel', scontrol: 'scontrol' },
  },
};
const ownerDir = mkdtempSync(join(tmpdir(), 'flotilla-bench-slurm-'));
try {
  const lines = ['defaults: { platform: cluster }', 'tasks:'];
  for (let i = 0; i < TASKS; i++) lines.push(`  t${i}: { script: "true" }`);
  mkdirSync(join(ownerDir, 'workflows', 'bench'), { recursive: true });
  writeFileSync(join(ownerDir, 'workflows', 'bench', 'flow.yaml'), `${lines.join('\n')}\n`);
  const engine = new WorkflowEngine({ ownerDir, concurrency: TASKS, platforms });
  await engine.start();
  const submitted = new Set();
  let lastSubmitAt = 0;
  let ran = false;
  let stopped;
  const finished = new Promise((resolve) => (stopped = resolve));
  engine.subscribe(['bench'], (delta) => {
    for (const t of [...(delta.added?.tasks ?? []), ...(delta.updated?.tasks ?? [])]) {
      if (t.jobId && !submitted.has(t.id)) {
        submitted.add(t.id);
        lastSubmitAt = performance.now();
      }
    }
    const status = delta.updated?.workflow?.status ?? delta.added?.workflow?.status;
    if (status === 'running') ran = true;
    else if (status === 'stopped' && ran) stopped();
  });
  const t0 = performance.now();
  const [result] = await engine.command('play', { workflows: ['bench'], by: 'bench' });
  if (!result.ok) throw new Error(result.message);
  let limit;
  const timedOut = await Promise.race([finished.then(() => false), new Promise((r) => (limit = setTimeout(() => r(true), LIMIT_MS)))]);
  clearTimeout(limit);
  const seconds = (performance.now() - t0) / 1000;
  const calls = engine.slurmQueueCalls;
  const wf = engine.getWorkflow('bench');
  await engine.close();
  const submitSeconds = (lastSubmitAt - t0) / 1000;
  console.log(`slurm: ${TASKS} tasks on a one-node local cluster, poll interval ${POLL_INTERVAL_S} s${timedOut ? ' (TIMED OUT)' : ''}`);
  console.log(`  submissions:   ${submitted.size} in ${submitSeconds.toFixed(1)} s = ${(submitted.size / submitSeconds).toFixed(1)} sbatch/s`);
  console.log(`  whole run:     ${seconds.toFixed(1)} s, ${wf.stateCounts.succeeded} succeeded, ${wf.stateCounts.failed + wf.stateCounts['submit-failed']} failed`);
  console.log(`  squeue calls:  ${calls.squeue} = ${(calls.squeue / (seconds / 60)).toFixed(1)}/min (one per poll for all jobs; per job it would be ~${Math.round((TASKS * 60) / POLL_INTERVAL_S)}/min)`);
  console.log(`  sacct calls:   ${calls.sacct} = ${(calls.sacct / (seconds / 60)).toFixed(1)}/min (none once the cluster says it keeps no accounting)`);
  if (timedOut || wf.stateCounts.succeeded !== TASKS) process.exitCode = 1;
} finally {
  rmSync(ownerDir, { recursive: true, force: true });
}
