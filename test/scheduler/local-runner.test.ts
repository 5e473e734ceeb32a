/**
 * The local runner's part of exactly once: a job folder is claimed by one wrapper at most, and
 * recovery can fence a folder no wrapper has claimed yet, after which a late wrapper runs nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalJobRunner, WRAPPER_FILE } from '../../src/scheduler/local-runner.js';
import { killGroup, waitFor } from './helpers.js';

let runDir: string;
const runner = new LocalJobRunner();
const pids: number[] = [];

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'flotilla-runner-'));
  runner.prepare(runDir);
});
afterEach(() => {
  for (const pid of pids.splice(0)) killGroup(pid);
  rmSync(runDir, { recursive: true, force: true });
});

const ignore = { started: () => undefined, exited: () => undefined, lost: () => undefined, neverStarted: () => undefined };
const local = { directives: {}, label: 'test' };

describe('the local job runner', () => {
  it('fences an unclaimed folder: a wrapper starting after that exits without running the script', async () => {
    const jobDir = join(runDir, 'log/job/1/a/01');
    mkdirSync(jobDir, { recursive: true });
    writeFileSync(join(jobDir, 'job.script'), `echo ran >> ${join(runDir, 'ledger')}`);
    expect(runner.recover({ jobDir })).toEqual({ kind: 'never-started' });
    expect(readFileSync(join(jobDir, 'job.pid'), 'utf8')).toBe('fenced\n');
    // The wrapper of that submission, spawned just before the crash, gets going only now.
    const late = spawn('bash', [join(runDir, WRAPPER_FILE), jobDir], { cwd: runDir, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const code = await new Promise<number | null>((done) => late.once('exit', done));
    expect(code).toBe(75);
    expect(existsSync(join(runDir, 'ledger'))).toBe(false);
    expect(runner.poll({ jobDir })).toEqual({ kind: 'never-started' });
  });

  it('leaves a claimed folder to its live wrapper, then reads its exit status; a folder is never reused', async () => {
    const jobDir = join(runDir, 'log/job/1/b/01');
    const job = { runDir, jobDir, script: 'while [ ! -f go ]; do sleep 0.05; done; exit 4', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...local };
    const { pid } = await runner.submit(job, ignore);
    pids.push(pid!);
    await waitFor('the wrapper to claim its folder', () => runner.poll({ jobDir }).kind === 'running');
    expect(runner.recover({ jobDir })).toEqual({ kind: 'running', pid });
    // The pid, then (with /proc) its start time, so that a recycled pid is not taken for the job.
    expect(readFileSync(join(jobDir, 'job.pid'), 'utf8')).toMatch(new RegExp(`^${pid}( [0-9]+)?\\n$`));
    await expect(runner.submit(job, ignore)).rejects.toThrow(/already exists \(job folders are never reused\)/);
    writeFileSync(join(runDir, 'go'), '');
    await waitFor('the job to finish', () => runner.poll({ jobDir }).kind === 'finished');
    expect(runner.poll({ jobDir })).toEqual({ kind: 'finished', status: 4 });
  });

  it('calls a claimed folder whose wrapper died without a status lost', async () => {
    const jobDir = join(runDir, 'log/job/1/c/01');
    const { pid } = await runner.submit({ runDir, jobDir, script: 'sleep 30', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...local }, ignore);
    pids.push(pid!);
    await waitFor('the wrapper to claim its folder', () => runner.poll({ jobDir }).kind === 'running');
    killGroup(pid!);
    await waitFor('the job to be lost', () => runner.recover({ jobDir }).kind === 'lost');
  });

  it('leaves a claim in progress (job.pid created, pid not yet written) alone, and calls it lost once abandoned', () => {
    const jobDir = join(runDir, 'log/job/1/d/01');
    mkdirSync(jobDir, { recursive: true });
    writeFileSync(join(jobDir, 'job.pid'), '');
    expect(runner.recover({ jobDir })).toEqual({ kind: 'unclaimed' });
    expect(readFileSync(join(jobDir, 'job.pid'), 'utf8')).toBe('');
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(join(jobDir, 'job.pid'), longAgo, longAgo);
    expect(runner.recover({ jobDir })).toEqual({ kind: 'lost' });
  });

  it('runs the script apart from the wrapper: its exit, exec, traps and variables still leave the status behind', async () => {
    const PATH = process.env.PATH ?? '/usr/bin:/bin';
    const run = async (name: string, script: string) => {
      const jobDir = join(runDir, `log/job/1/${name}/01`);
      const exited = new Promise<number>((done) => runner.submit({ runDir, jobDir, script, env: { PATH }, ...local }, { ...ignore, exited: done }).then(({ pid }) => pids.push(pid!)));
      return { status: await exited, out: readFileSync(join(jobDir, 'job.out'), 'utf8'), recorded: runner.poll({ jobDir }) };
    };
    // What the wrapper defines is not the script's: no arguments, no function of its own.
    const looks = await run('looks', 'echo "args=$# record=$(type -t flotilla_record)"; trap "exit 9" EXIT; exit 3');
    expect(looks).toEqual({ status: 9, out: 'args=0 record=\n', recorded: { kind: 'finished', status: 9 } });
    // A script that replaces its shell still has a wrapper waiting to record how it ended.
    const exec = await run('exec', 'flotilla_job_dir=/nowhere; exec sh -c "exit 5"');
    expect(exec).toMatchObject({ status: 5, recorded: { kind: 'finished', status: 5 } });
    expect(readFileSync(join(runDir, 'log/job/1/exec/01/job.status'), 'utf8')).toBe('5\n');
  });

  it('gives each job exactly its own environment, though one launcher starts them all', async () => {
    const PATH = process.env.PATH ?? '/usr/bin:/bin';
    const run = async (name: string, env: Record<string, string>) => {
      const jobDir = join(runDir, `log/job/1/${name}/01`);
      await new Promise<number>((done) => runner.submit({ runDir, jobDir, script: 'echo "${ONLY_FIRST-unset} ${SHARED-unset}"', env, ...local }, { ...ignore, exited: done }));
      return readFileSync(join(jobDir, 'job.out'), 'utf8');
    };
    expect(await run('first', { PATH, ONLY_FIRST: 'a b\nc', SHARED: 'x' })).toBe('a b\nc x\n');
    expect(await run('second', { PATH, SHARED: 'y' })).toBe('unset y\n');
  });

  it('reports a job whose process was killed outright (no status, nothing said) as lost', async () => {
    const jobDir = join(runDir, 'log/job/1/k/01');
    let lost = '';
    const ended = new Promise<void>((done) => {
      void runner.submit({ runDir, jobDir, script: 'sleep 30', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...local }, {
        ...ignore, lost: (reason) => { lost = reason; done(); }, exited: () => done(),
      }).then(({ pid }) => pids.push(pid!));
    });
    const claimed = await waitFor('the wrapper to claim its folder', () => {
      const check = runner.poll({ jobDir });
      return check.kind === 'running' ? check.pid : undefined;
    });
    killGroup(claimed!);
    await ended;
    expect(lost).toMatch(/left no exit status/);
  });
});
