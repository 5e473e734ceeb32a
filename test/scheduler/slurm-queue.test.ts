/**
 * The batched questions to Slurm, with stand-in squeue and sacct programs (real processes that
 * record how they were called): one squeue call for every job, sacct only for jobs squeue no
 * longer lists, and never again once the cluster says it keeps no accounting.
 * slurm.test.ts runs the real commands against a real cluster.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlurmQueue } from '../../src/scheduler/slurm/queue.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-slurm-queue-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A program that appends its arguments to `<name>.calls`, prints `stdout`, and exits with `code`. */
function standIn(name: string, stdout: string, code = 0, stderr = ''): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/usr/bin/env bash\necho "$*" >> ${file}.calls\nprintf '%s' '${stdout}'\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`, { mode: 0o755 });
  return file;
}

const calls = (program: string): string[] => readFileSync(`${program}.calls`, 'utf8').trim().split('\n');

describe('asking Slurm about jobs', () => {
  it('asks squeue once for all jobs, and sacct once for those squeue has forgotten', async () => {
    const squeue = standIn('squeue', '11|RUNNING\n12|PENDING\n13|COMPLETED\n99|RUNNING\n');
    const sacct = standIn('sacct', '14|FAILED\n');
    const queue = new SlurmQueue({ squeue, sacct }, 10_000);
    const answer = await queue.look(['11', '12', '13', '14', '15']);
    if ('error' in answer) throw new Error(answer.error);
    expect(Object.fromEntries(answer.states)).toEqual({
      11: { kind: 'active', state: 'RUNNING' },
      12: { kind: 'active', state: 'PENDING' },
      13: { kind: 'ended', state: 'COMPLETED' },
      14: { kind: 'ended', state: 'FAILED' },
      15: { kind: 'gone' },
    });
    expect(calls(squeue)).toEqual(['--noheader --states=all --jobs=11,12,13,14,15 --format=%i|%T']);
    expect(calls(sacct)).toEqual(['--noheader --parsable2 --allocations --jobs=14,15 --format=JobID,State']);
    expect([queue.squeueCalls, queue.sacctCalls]).toEqual([1, 1]);
  });

  it('stops asking sacct once the cluster says it keeps no accounting', async () => {
    const squeue = standIn('squeue', '');
    const sacct = standIn('sacct', '', 1, 'Slurm accounting storage is disabled');
    const queue = new SlurmQueue({ squeue, sacct }, 10_000);
    for (let i = 0; i < 3; i++) {
      const answer = await queue.look(['21']);
      if ('error' in answer) throw new Error(answer.error);
      expect(answer.states.get('21')).toEqual({ kind: 'gone' });
    }
    expect([queue.squeueCalls, queue.sacctCalls]).toEqual([3, 1]);
  });

  it('says nothing of the jobs when squeue fails, but treats "invalid job id" as the job being gone', async () => {
    const failing = new SlurmQueue({ squeue: standIn('squeue', '', 1, 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)'), sacct: standIn('sacct', '') }, 10_000);
    expect(await failing.look(['31', '32'])).toEqual({ error: `${join(dir, 'squeue')}: slurm_load_jobs error: Unable to contact slurm controller (connect failure)` });
    const unknown = new SlurmQueue({ squeue: standIn('squeue', '', 1, 'slurm_load_jobs error: Invalid job id specified'), sacct: standIn('sacct', '', 1, 'Slurm accounting storage is disabled') }, 10_000);
    const answer = await unknown.look(['33']);
    if ('error' in answer) throw new Error(answer.error);
    expect(answer.states.get('33')).toEqual({ kind: 'gone' });
    const missing = new SlurmQueue({ squeue: join(dir, 'no-such-squeue'), sacct: join(dir, 'no-such-sacct') }, 10_000);
    expect(await missing.look(['34'])).toEqual({ error: `${join(dir, 'no-such-squeue')}: command not found` });
  });
});
