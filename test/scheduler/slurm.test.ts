/**
 * Tasks on a real Slurm cluster: the one-node cluster of scripts/slurm-cluster.sh on 127.0.0.1,
 * real sbatch/squeue/scancel, jobs run by slurmd. Through a real workflow server (GraphQL, as the
 * page does it) for success, failure with retries, a kill, a refused submission and a directive
 * that reached Slurm; through an engine process SIGKILLed mid-run for recovery by job id.
 *
 * Skipped, saying why, only when Slurm's programs are not installed (.ci/run installs them).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformConfig, SlurmPlatformConfig } from '../../src/config/index.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { Sandbox, capturingLogger, task, waitFor, waitState } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLUSTER = join(ROOT, 'scripts', 'slurm-cluster.sh');
const DRIVER = join(import.meta.dirname, 'fixtures/engine-driver.mjs');
const STATE_DIR = process.env.FLOTILLA_SLURM_DIR ?? join(tmpdir(), 'flotilla-slurm');

const missing = ['sbatch', 'squeue', 'scancel', 'scontrol', 'slurmctld', 'slurmd', 'munged'].filter(
  (cmd) => spawnSync('bash', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`]).status !== 0,
);
if (missing.length) console.warn(`slurm tests skipped: ${missing.join(', ')} not installed (apt-get install slurm-wlm munge)`);

const CLUSTER_PLATFORM: SlurmPlatformConfig = {
  job_runner: 'slurm',
  directives: { '--partition': 'debug' },
  commands: { sbatch: 'sbatch', squeue: 'squeue', sacct: 'sacct', scancel: 'scancel', scontrol: 'scontrol' },
  poll_interval: 0.5,
  submit_timeout: 30,
};
const PLATFORMS: Record<string, PlatformConfig> = { cluster: CLUSTER_PLATFORM };

const owner = { user: 'alice' };
const clusterEnv = { ...process.env, FLOTILLA_SLURM_DIR: STATE_DIR };
/** Set when these tests started the cluster: they stop it again (one a developer started stays up). */
let startedHere = false;

function startCluster(): void {
  if (!startedHere && spawnSync(CLUSTER, ['status'], { env: clusterEnv }).status !== 0) startedHere = true;
  execFileSync(CLUSTER, ['start'], { stdio: 'inherit', env: clusterEnv });
  process.env.SLURM_CONF = join(STATE_DIR, 'slurm.conf');
}

afterAll(() => {
  if (startedHere) execFileSync(CLUSTER, ['stop'], { stdio: 'inherit', env: clusterEnv });
}, 60_000);
let server: TestServer | undefined;

function scontrolShow(jobId: string): string {
  return execFileSync('scontrol', ['show', 'job', jobId], { encoding: 'utf8' });
}

async function play(s: TestServer, workflow: string): Promise<void> {
  const res = await s.graphql(owner, `mutation { play(workflows: ["${workflow}"]) { ok message } }`).expect(200);
  expect(res.body.data.play[0]).toMatchObject({ ok: true });
}

type GqlTask = { id: string; state: string; submitNum: number; jobId: string | null; platform: string | null; directives: Record<string, string> | null; exitCode: number | null };

async function gqlTask(s: TestServer, workflow: string, id: string): Promise<GqlTask | undefined> {
  const res = await s.graphql(owner, `{ workflow(id: "${workflow}") { tasks { id state submitNum jobId platform directives exitCode } } }`).expect(200);
  return (res.body.data.workflow.tasks as GqlTask[]).find((t) => t.id === id);
}

function gqlWait(s: TestServer, workflow: string, id: string, state: string, timeoutMs = 60_000): Promise<GqlTask> {
  return waitFor(`${workflow} ${id} to be ${state}`, async () => {
    const t = await gqlTask(s, workflow, id);
    return t?.state === state ? t : undefined;
  }, timeoutMs);
}


async function workflowLog(s: TestServer, workflow: string): Promise<string> {
  const res = await s.graphql(owner, `{ workflowLog(workflow: "${workflow}") { text } }`).expect(200);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return (res.body.data.workflowLog as { text: string }[]).map((e) => e.text).join('\n');
}

describe.skipIf(missing.length > 0)('tasks on a Slurm cluster', () => {
  beforeAll(startCluster, 120_000);
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('runs a job on Slurm with the platform\'s and the task\'s directives, shows its job id, and keeps its logs in the job folder', async () => {
    server = await startTestServer({
      owner: 'alice', platforms: PLATFORMS,
      flows: {
        hello: [
          'defaults:',
          '  platform: cluster',
          '  directives: { "--time": "00:07:00" }',
          'tasks:',
          '  a:',
          '    script: echo "hello from $SLURM_JOB_ID as $FLOTILLA_TASK"; echo oops >&2',
          '    directives: { "--comment": "flotilla-directive-check" }',
          '  b: { script: "echo local $SLURM_JOB_ID", platform: local, depends: [a] }',
        ].join('\n'),
      },
    });
    await play(server, 'hello');
    const a = await gqlWait(server, 'hello', '1/a', 'succeeded');
    expect(a.jobId).toMatch(/^[0-9]+$/);
    expect(a.platform).toBe('cluster');
    expect(a.directives).toEqual({ '--partition': 'debug', '--time': '00:07:00', '--comment': 'flotilla-directive-check' });
    const shown = scontrolShow(a.jobId!);
    expect(shown).toContain('TimeLimit=00:07:00');
    expect(shown).toContain('Comment=flotilla-directive-check');
    expect(shown).toContain('Partition=debug');
    expect(shown).toContain('JobState=COMPLETED');
    const out = await server.graphql(owner, `{ jobLog(workflow: "hello", task: "1/a", file: "job.out") { content path } }`).expect(200);
    expect(out.body.data.jobLog.content).toBe(`hello from ${a.jobId} as a\n`);
    expect(out.body.data.jobLog.path).toBe('runs/hello/log/job/1/a/01/job.out');
    const err = await server.graphql(owner, `{ jobLog(workflow: "hello", task: "1/a", file: "job.err") { content } }`).expect(200);
    expect(err.body.data.jobLog.content).toBe('oops\n');
    const b = await gqlWait(server, 'hello', '1/b', 'succeeded');
    expect(b).toMatchObject({ platform: null, directives: null, jobId: null });
    expect(await workflowLog(server, 'hello')).toContain(`1/a: job 1 submitted to platform cluster as Slurm job ${a.jobId}`);
  }, 120_000);

  it('fails a job that exits non-zero after using its retries, each try a new Slurm job', async () => {
    server = await startTestServer({ owner: 'alice', platforms: PLATFORMS, flows: { bad: 'tasks:\n  f: { script: "exit 3", platform: cluster, retries: 1 }\n' } });
    await play(server, 'bad');
    const f = await gqlWait(server, 'bad', '1/f', 'failed');
    expect(f).toMatchObject({ submitNum: 2, exitCode: 3 });
    const log = await workflowLog(server, 'bad');
    expect(log).toContain('1/f: job 1 failed with exit status 3 (job failure); retry 1 of 1');
    const ids = [...log.matchAll(/as Slurm job ([0-9]+)/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids.at(-1)).toBe(f.jobId);
  }, 120_000);

  it('kills a running job with scancel when the page asks (the kill mutation)', async () => {
    server = await startTestServer({ owner: 'alice', platforms: PLATFORMS, flows: { long: 'tasks:\n  s: { script: "sleep 300", platform: cluster, retries: 2 }\n' } });
    await play(server, 'long');
    const running = await gqlWait(server, 'long', '1/s', 'running');
    expect(scontrolShow(running.jobId!)).toContain('JobState=RUNNING');
    const res = await server.graphql(owner, 'mutation { kill(workflows: ["long"], tasks: ["1/s"]) { ok message } }').expect(200);
    expect(res.body.data.kill[0]).toMatchObject({ ok: true });
    // Killed means failed, without drawing on the retries.
    const killed = await gqlWait(server, 'long', '1/s', 'failed');
    expect(killed).toMatchObject({ submitNum: 1, exitCode: 143 });
    expect(scontrolShow(running.jobId!)).toContain('JobState=CANCELLED');
  }, 120_000);

  it('kills a job still waiting in the queue: it never runs, and the task fails as killed', async () => {
    const ledger = join(mkdtempSync(join(tmpdir(), 'flotilla-slurm-ledger-')), 'ledger');
    server = await startTestServer({
      owner: 'alice', platforms: PLATFORMS,
      flows: { later: `tasks:\n  q: { script: "echo ran >> ${ledger}", platform: cluster, retries: 2, directives: { "--begin": "now+600" } }\n` },
    });
    await play(server, 'later');
    const queued = await gqlWait(server, 'later', '1/q', 'submitted');
    expect(scontrolShow(queued.jobId!)).toContain('JobState=PENDING');
    await server.graphql(owner, 'mutation { kill(workflows: ["later"], tasks: ["1/q"]) { ok } }').expect(200);
    const killed = await gqlWait(server, 'later', '1/q', 'failed');
    expect(killed).toMatchObject({ submitNum: 1, exitCode: 143 });
    expect(scontrolShow(queued.jobId!)).toContain('JobState=CANCELLED');
    expect(existsSync(ledger)).toBe(false);
    rmSync(dirname(ledger), { recursive: true, force: true });
  }, 120_000);

  it('moves a task to Slurm with a broadcast, directives included', async () => {
    server = await startTestServer({ owner: 'alice', platforms: PLATFORMS, flows: { moved: 'tasks:\n  m: { script: "echo job=$SLURM_JOB_ID", xtrigger: go }\n' } });
    await play(server, 'moved');
    const set = await server
      .graphql(owner, 'mutation B($s: JSON!) { broadcast(workflows: ["moved"], settings: $s) { ok message } }', {
        s: { platform: 'cluster', directives: { '--comment': 'from-a-broadcast' } },
      })
      .expect(200);
    expect(set.body.errors).toBeUndefined();
    expect(set.body.data.broadcast[0]).toMatchObject({ ok: true });
    await server.graphql(owner, 'mutation { extTrigger(workflows: ["moved"], name: "go") { ok } }').expect(200);
    const m = await gqlWait(server, 'moved', '1/m', 'succeeded');
    expect(m).toMatchObject({ platform: 'cluster' });
    expect(scontrolShow(m.jobId!)).toContain('Comment=from-a-broadcast');
    const out = await server.graphql(owner, '{ jobLog(workflow: "moved", task: "1/m", file: "job.out") { content } }').expect(200);
    expect(out.body.data.jobLog.content).toBe(`job=${m.jobId}\n`);
  }, 120_000);

  it('still sees a job end by its status file when squeue fails, and says why in the log', async () => {
    const { logger, lines } = capturingLogger();
    const broken = { cluster: { ...CLUSTER_PLATFORM, commands: { ...CLUSTER_PLATFORM.commands, squeue: '/bin/false' } } };
    server = await startTestServer({ owner: 'alice', platforms: broken, logger, flows: { blind: 'tasks:\n  b: { script: "exit 0", platform: cluster }\n' } });
    await play(server, 'blind');
    const b = await gqlWait(server, 'blind', '1/b', 'succeeded');
    expect(b.jobId).toMatch(/^[0-9]+$/);
    expect(lines.some((l) => l.msg === 'cannot ask Slurm about jobs; trying again' && String(l.err).startsWith('/bin/false'))).toBe(true);
  }, 120_000);

  it('asks Slurm at once on the poll operation: a queued job cancelled outside Flotilla is seen gone', async () => {
    // A minute between looks: only Slurm knows the job went, and poll is what makes it ask now.
    const slow = { cluster: { ...CLUSTER_PLATFORM, poll_interval: 60 } };
    server = await startTestServer({
      owner: 'alice', platforms: slow,
      flows: { polled: 'tasks:\n  p: { script: "true", platform: cluster, directives: { "--begin": "now+600" } }\n' },
    });
    await play(server, 'polled');
    const submitted = await gqlWait(server, 'polled', '1/p', 'submitted');
    execFileSync('scancel', [submitted.jobId!]);
    await waitFor('Slurm to cancel it', () => scontrolShow(submitted.jobId!).includes('JobState=CANCELLED'), 30_000);
    expect((await gqlTask(server, 'polled', '1/p'))?.state).toBe('submitted');
    const res = await server.graphql(owner, 'mutation { poll(workflows: ["polled"]) { ok message } }').expect(200);
    expect(res.body.data.poll[0]).toMatchObject({ ok: true });
    await gqlWait(server, 'polled', '1/p', 'submit-failed', 20_000);
    expect(await workflowLog(server, 'polled')).toContain(`1/p: job 1 could not start: Slurm job ${submitted.jobId} ended CANCELLED without starting`);
  }, 120_000);

  it('marks a submission Slurm refuses (a bad partition) submit-failed with Slurm\'s message, after its retries', async () => {
    server = await startTestServer({
      owner: 'alice', platforms: PLATFORMS,
      flows: { refused: 'tasks:\n  r: { script: "true", platform: cluster, retries: 1, directives: { "--partition": "nope" } }\n' },
    });
    await play(server, 'refused');
    const r = await gqlWait(server, 'refused', '1/r', 'submit-failed');
    expect(r).toMatchObject({ submitNum: 2, jobId: null });
    const log = await workflowLog(server, 'refused');
    expect(log).toMatch(/1\/r: job 1 could not start \(submission failure: Slurm refused the job \(platform cluster\): .*Invalid partition name specified\); retry 1 of 1/);
    expect(log).toMatch(/1\/r: job 2 could not start: Slurm refused the job \(platform cluster\): .*Invalid partition name specified/);
  }, 120_000);

  it('fences a job sbatch queued but reported as failed: Slurm runs it later, and it does nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-slurm-ambiguous-'));
    const ids = join(dir, 'ids');
    const ledger = join(dir, 'ledger');
    // An sbatch whose answer is lost: the job is queued, but the caller hears only an error.
    const fake = join(dir, 'sbatch');
    writeFileSync(fake, `#!/usr/bin/env bash\nsbatch "$@" >> ${ids}\necho "sbatch: error: Socket timed out on send/recv operation" >&2\nexit 1\n`, { mode: 0o755 });
    const platforms = { cluster: { ...CLUSTER_PLATFORM, commands: { ...CLUSTER_PLATFORM.commands, sbatch: fake } } };
    server = await startTestServer({
      owner: 'alice', platforms,
      flows: { lossy: `tasks:\n  l: { script: "echo ran >> ${ledger}", platform: cluster, retries: 1, directives: { "--begin": "now+3" } }\n` },
    });
    await play(server, 'lossy');
    const l = await gqlWait(server, 'lossy', '1/l', 'submit-failed');
    expect(l.submitNum).toBe(2);
    expect(await workflowLog(server, 'lossy')).toContain('Socket timed out on send/recv operation');
    const queued = readFileSync(ids, 'utf8').trim().split('\n');
    expect(queued).toHaveLength(2);
    // Both jobs really ran on the cluster, found their folders fenced and ran nothing.
    for (const id of queued) await waitFor(`Slurm job ${id} to end`, () => /JobState=(COMPLETED|FAILED)/.test(scontrolShow(id)), 60_000);
    expect(existsSync(ledger)).toBe(false);
    const jobDir = join(server.dataDir, 'users', 'alice', 'runs', 'lossy', 'log', 'job', '1', 'l');
    for (const n of ['01', '02']) {
      expect(readFileSync(join(jobDir, n, 'job.pid'), 'utf8')).toBe('fenced\n');
      expect(existsSync(join(jobDir, n, 'job.status'))).toBe(false);
    }
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('refuses a flow.yaml naming a platform the site does not have, with a did-you-mean', async () => {
    server = await startTestServer({ owner: 'alice', platforms: PLATFORMS, flows: { typo: 'tasks:\n  t: { script: "true", platform: clustr }\n' } });
    const res = await server.graphql(owner, 'mutation { play(workflows: ["typo"]) { ok message } }').expect(200);
    expect(res.body.data.play[0].ok).toBe(false);
    expect(res.body.data.play[0].message).toContain('tasks.t.platform: no platform "clustr" on this site; did you mean "cluster"?; the site has local, cluster');
  });
});

describe.skipIf(missing.length > 0)('recovery of Slurm jobs after a crash', () => {
  let box: Sandbox;
  let driver: ChildProcess | undefined;
  beforeAll(async () => {
    startCluster();
    box = new Sandbox(mkdtempSync(join(tmpdir(), 'flotilla-slurm-crash-')));
  }, 240_000);
  afterAll(async () => {
    driver?.kill('SIGKILL');
    await box?.cleanup();
  });

  it('finds its jobs again by id after a SIGKILL: a running one and a queued one each run exactly once', async () => {
    const ledger = join(box.ownerDir, 'ledger');
    const go = join(box.ownerDir, 'go');
    const script = `echo $FLOTILLA_TASK >> ${ledger}; while [ ! -f ${go} ]; do sleep 0.1; done`;
    box.writeFlow('x', [
      'tasks:',
      `  run: { script: "${script}", platform: cluster }`,
      // Held in the queue by Slurm until a few seconds after submission: queued across the crash.
      `  queued: { script: "${script}", platform: cluster, directives: { "--begin": "now+8" } }`,
      `  done: { script: "echo $FLOTILLA_TASK >> ${ledger}", platform: cluster }`,
      '',
    ].join('\n'));
    const child = spawn(process.execPath, [DRIVER, box.ownerDir, 'x', '4', JSON.stringify(PLATFORMS)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    driver = child;
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    await waitFor('run to be running and done to succeed', () => output.includes('state 1/run running') && output.includes('state 1/done succeeded'), 60_000);
    await waitFor('queued to be submitted', () => output.includes('state 1/queued submitted'), 30_000);
    child.kill('SIGKILL');
    await waitFor('the killed engine to be gone', () => child.exitCode !== null || child.signalCode !== null);
    driver = undefined;
    const runId = readFileSync(join(box.runDir('x'), 'log/job/1/run/01/job.slurm-id'), 'utf8').trim();
    const queuedId = readFileSync(join(box.runDir('x'), 'log/job/1/queued/01/job.slurm-id'), 'utf8').trim();
    expect(scontrolShow(queuedId)).toContain('JobState=PENDING');

    const engine = await box.engine({ concurrency: 4, platforms: PLATFORMS });
    expect(task(engine, 'x', '1/run')).toMatchObject({ state: 'running', jobId: runId, submitNum: 1 });
    expect(task(engine, 'x', '1/queued')).toMatchObject({ state: 'submitted', jobId: queuedId, submitNum: 1 });
    await waitState(engine, 'x', '1/queued', 'running', 60_000);
    writeFileSync(go, '');
    await waitState(engine, 'x', '1/run', 'succeeded', 60_000);
    await waitState(engine, 'x', '1/queued', 'succeeded', 60_000);
    expect(task(engine, 'x', '1/run')).toMatchObject({ submitNum: 1, jobId: runId, exitCode: 0 });
    expect(task(engine, 'x', '1/queued')).toMatchObject({ submitNum: 1, jobId: queuedId, exitCode: 0 });
    expect(readFileSync(ledger, 'utf8').trim().split('\n').sort()).toEqual(['done', 'queued', 'run']);
    expect(existsSync(join(box.runDir('x'), 'log/job/1/run/02'))).toBe(false);
  }, 240_000);
});
