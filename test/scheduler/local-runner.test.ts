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
});
