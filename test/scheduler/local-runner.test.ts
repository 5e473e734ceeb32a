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
    expect(readFileSync(join(jobDir, 'job.pid'), 'utf8').trim()).toBe(String(pid));
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

  it('runs the script as its own: its exit status, no arguments, none of the wrapper\'s helpers', async () => {
    const jobDir = join(runDir, 'log/job/1/e/01');
    const script = 'echo "args=$# record=$(type -t flotilla_record)"; exit 3';
    let exited: number | undefined;
    const { pid } = await runner.submit({ runDir, jobDir, script, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...local }, { ...ignore, exited: (status) => (exited = status) });
    pids.push(pid!);
    await waitFor('the job to end', () => exited !== undefined);
    expect(exited).toBe(3);
    expect(readFileSync(join(jobDir, 'job.status'), 'utf8')).toBe('3\n');
    expect(readFileSync(join(jobDir, 'job.out'), 'utf8')).toBe('args=0 record=\n');
  });

  it('reads a status or a pid only once written whole: one cut short is not another number', () => {
    const jobDir = join(runDir, 'log/job/1/f/01');
    mkdirSync(jobDir, { recursive: true });
    writeFileSync(join(jobDir, 'job.pid'), '999999');
    expect(runner.poll({ jobDir })).toEqual({ kind: 'unclaimed' });
    writeFileSync(join(jobDir, 'job.pid'), '999999\n');
    writeFileSync(join(jobDir, 'job.status'), '14');
    // The wrapper is gone and its status was cut short ("143" would have said killed): lost, not 14.
    expect(runner.poll({ jobDir })).toEqual({ kind: 'lost' });
    writeFileSync(join(jobDir, 'job.status'), '143\n');
    expect(runner.poll({ jobDir })).toEqual({ kind: 'finished', status: 143 });
  });

  it('gives each job exactly the environment it was submitted with, no more and no less', async () => {
    const path = process.env.PATH ?? '/usr/bin:/bin';
    const envOf = async (name: string, env: Record<string, string>) => {
      const jobDir = join(runDir, `log/job/1/${name}/01`);
      let exited: number | undefined;
      const { pid } = await runner.submit({ runDir, jobDir, script: 'env -0', env, ...local }, { ...ignore, exited: (status) => (exited = status) });
      pids.push(pid!);
      await waitFor(`${name} to end`, () => exited !== undefined);
      const seen = new Map(readFileSync(join(jobDir, 'job.out'), 'utf8').split('\0').filter(Boolean).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      // What bash itself sets in every shell it starts (the old direct spawn gave the same).
      for (const own of ['PWD', 'SHLVL', '_', 'OLDPWD']) seen.delete(own);
      return Object.fromEntries(seen);
    };
    expect(await envOf('g', { PATH: path, ODD: 'two words\nand a line', FLOTILLA_TASK: 'g' })).toEqual({ PATH: path, ODD: 'two words\nand a line', FLOTILLA_TASK: 'g' });
    // The next job's differs from the first one's: what it lacks is not inherited from it.
    expect(await envOf('h', { PATH: path, OTHER: '1', FLOTILLA_TASK: 'h' })).toEqual({ PATH: path, OTHER: '1', FLOTILLA_TASK: 'h' });
    // What bash cannot export (a name that is no shell name, one of its read-only variables) is
    // left out, and the job still starts.
    const odd = await envOf('i', { PATH: path, 'NOT-A-NAME': 'x', UID: '12345', FLOTILLA_TASK: 'i' });
    expect(odd).toMatchObject({ PATH: path, FLOTILLA_TASK: 'i' });
    expect(odd).not.toHaveProperty('NOT-A-NAME');
    expect(odd.UID).not.toBe('12345');
  });

  it('runs jobs of several run folders, alternating, each in its own, and a job folder outside its run folder', async () => {
    const other = mkdtempSync(join(tmpdir(), 'flotilla-runner-'));
    const outside = mkdtempSync(join(tmpdir(), 'flotilla-jobs-'));
    runner.prepare(other);
    try {
      // The starter is told a run folder only when it changes, and a job folder within it as a relative path.
      const jobs: [string, string][] = [
        [runDir, join(runDir, 'log/job/1/p/01')],
        [other, join(other, 'log/job/1/p/01')],
        [other, join(other, 'log/job/1/q/01')],
        [runDir, join(runDir, 'log/job/1/q/01')],
        [other, join(outside, 'r')],
      ];
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const statuses = await Promise.all(
        jobs.map(([dir, jobDir]) => new Promise<number>((exited, failed) => {
          runner.submit({ runDir: dir, jobDir, script: 'pwd', env, ...local }, { ...ignore, exited }).then(({ pid }) => pids.push(pid!), failed);
        })),
      );
      expect(statuses).toEqual([0, 0, 0, 0, 0]);
      for (const [dir, jobDir] of jobs) expect(readFileSync(join(jobDir, 'job.out'), 'utf8')).toBe(`${dir}\n`);
    } finally {
      rmSync(other, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reports a job whose wrapper was SIGKILLed as lost, and one it had to kill hard as killed', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const outcome = (into: string[]) => ({ ...ignore, exited: (status: number) => into.push(`exited ${status}`), lost: (reason: string) => into.push(`lost: ${reason}`) });
    const killedOutside: string[] = [];
    const a = await runner.submit({ runDir, jobDir: join(runDir, 'log/job/1/k/01'), script: 'sleep 30', env, ...local }, outcome(killedOutside));
    pids.push(a.pid!);
    await waitFor('k to claim its folder', () => runner.poll({ jobDir: join(runDir, 'log/job/1/k/01') }).kind === 'running');
    killGroup(a.pid!);
    await waitFor('k to be reported', () => killedOutside.length > 0);
    expect(killedOutside).toEqual(['lost: its wrapper ended without recording an exit status']);

    const killedHere: string[] = [];
    const jobDir = join(runDir, 'log/job/1/m/01');
    const b = await runner.submit({ runDir, jobDir, script: 'sleep 30', env, ...local }, outcome(killedHere));
    pids.push(b.pid!);
    await waitFor('m to claim its folder', () => runner.poll({ jobDir }).kind === 'running');
    // A stopped wrapper cannot run its TERM trap: only the SIGKILL after the grace time ends it.
    process.kill(b.pid!, 'SIGSTOP');
    runner.kill({ jobDir, pid: b.pid }, 200);
    await waitFor('m to be reported', () => killedHere.length > 0);
    expect(killedHere).toEqual(['exited 137']);
  });

  it('still hears from a job after its starter died, and starts the next job with a new starter', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const ends: number[] = [];
    const jobDir = join(runDir, 'log/job/1/s/01');
    const { pid } = await runner.submit({ runDir, jobDir, script: 'while [ ! -f go ]; do sleep 0.05; done; exit 5', env, ...local }, { ...ignore, exited: (status) => ends.push(status) });
    pids.push(pid!);
    const starter = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    expect(readFileSync(`/proc/${starter}/cmdline`, 'utf8')).toContain('flotilla-job-starter');
    process.kill(starter, 'SIGKILL');
    await waitFor('the starter to be gone', () => !existsSync(`/proc/${starter}/cmdline`) || readFileSync(`/proc/${starter}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'));
    writeFileSync(join(runDir, 'go'), '');
    await waitFor('the job to report its end', () => ends.length > 0);
    expect(ends).toEqual([5]);
    let next: number | undefined;
    const second = await runner.submit({ runDir, jobDir: join(runDir, 'log/job/1/t/01'), script: 'exit 6', env, ...local }, { ...ignore, exited: (status) => (next = status) });
    pids.push(second.pid!);
    await waitFor('the next job to end', () => next !== undefined);
    expect(next).toBe(6);
  });

  it('fails a submission its starter died before answering, and fences its folder so that it never runs', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    let done: number | undefined;
    const script = 'while [ ! -f go ]; do sleep 0.05; done';
    const first = await runner.submit({ runDir, jobDir: join(runDir, 'log/job/1/u/01'), script, env, ...local }, { ...ignore, exited: (status) => (done = status) });
    pids.push(first.pid!);
    const starter = Number(readFileSync(`/proc/${first.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    writeFileSync(join(runDir, 'go'), '');
    await waitFor('u to end', () => done !== undefined);
    process.kill(starter, 'SIGSTOP');
    const jobDir = join(runDir, 'log/job/1/v/01');
    const refused = runner.submit({ runDir, jobDir, script: `echo ran >> ${join(runDir, 'ledger')}`, env, ...local }, ignore);
    process.kill(starter, 'SIGKILL');
    await expect(refused).rejects.toThrow('the job starter stopped before it started the job');
    expect(readFileSync(join(jobDir, 'job.pid'), 'utf8')).toBe('fenced\n');
    expect(existsSync(join(runDir, 'ledger'))).toBe(false);
  });
});
