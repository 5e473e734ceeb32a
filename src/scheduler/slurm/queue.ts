/**
 * What Slurm says about a set of jobs, asked in batches: one `squeue` call per look for every job
 * being watched, and one `sacct` call for those squeue no longer knows (when the cluster keeps
 * accounting; without it, a job squeue has forgotten is simply gone).
 */
import { execFile } from 'node:child_process';

/** Slurm job states after which the job will never run again. */
const ENDED = new Set([
  'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'PREEMPTED', 'NODE_FAIL', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY',
  'REVOKED', 'SPECIAL_EXIT',
]);

/** One job as Slurm reports it: still queued or running, ended (in which state), or unknown to it. */
export type QueueState = { kind: 'active'; state: string } | { kind: 'ended'; state: string } | { kind: 'gone' };

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; never rejects (a missing program is exit code 127). */
export function runCommand(file: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: options.timeoutMs, env: options.env, cwd: options.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      const code = typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1;
      const why = e.killed ? `${file} did not answer within ${options.timeoutMs / 1000} s` : e.code === 'ENOENT' ? `${file}: command not found` : '';
      resolve({ code, stdout, stderr: `${stderr}${why && !stderr.includes(why) ? (stderr ? '\n' : '') + why : ''}` });
    });
  });
}

export interface QueueCommands {
  squeue: string;
  sacct: string;
}

export class SlurmQueue {
  /** Calls made so far, for the benchmark and the log. */
  squeueCalls = 0;
  sacctCalls = 0;
  /** Cleared when sacct says the cluster keeps no accounting: not asked again. */
  private accounting = true;

  constructor(private readonly commands: QueueCommands, private readonly timeoutMs: number) {}

  /**
   * The state of every job in `ids`, or undefined when Slurm could not be asked (a failed squeue
   * says nothing about the jobs: they are looked at again next time).
   */
  async look(ids: string[]): Promise<{ states: Map<string, QueueState> } | { error: string }> {
    const states = new Map<string, QueueState>();
    if (ids.length === 0) return { states };
    this.squeueCalls++;
    const squeue = await runCommand(this.commands.squeue, ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T'], { timeoutMs: this.timeoutMs });
    // With a single id squeue fails when it does not know it; with several it lists those it knows.
    if (squeue.code !== 0 && !/invalid job id/i.test(squeue.stderr)) return { error: `${this.commands.squeue}: ${slurmMessage(squeue.stderr) || `exit status ${squeue.code}`}` };
    for (const line of squeue.stdout.split('\n')) {
      const [id, state] = line.trim().split('|');
      if (!id || !state || !ids.includes(id)) continue;
      const base = state.split(' ')[0]!;
      states.set(id, ENDED.has(base) ? { kind: 'ended', state: base } : { kind: 'active', state: base });
    }
    const forgotten = ids.filter((id) => !states.has(id));
    if (forgotten.length > 0 && this.accounting) await this.askAccounting(forgotten, states);
    for (const id of forgotten) if (!states.has(id)) states.set(id, { kind: 'gone' });
    return { states };
  }

  private async askAccounting(ids: string[], states: Map<string, QueueState>): Promise<void> {
    this.sacctCalls++;
    const sacct = await runCommand(this.commands.sacct, ['--noheader', '--parsable2', '--allocations', `--jobs=${ids.join(',')}`, '--format=JobID,State'], { timeoutMs: this.timeoutMs });
    if (sacct.code !== 0) {
      if (/accounting storage is disabled/i.test(sacct.stderr)) this.accounting = false;
      return;
    }
    for (const line of sacct.stdout.split('\n')) {
      const [id, state] = line.trim().split('|');
      if (!id || !state || !ids.includes(id)) continue;
      const base = state.split(' ')[0]!;
      states.set(id, ENDED.has(base) ? { kind: 'ended', state: base } : { kind: 'active', state: base });
    }
  }
}

/** A command's complaint on one line (Slurm often says one thing over two lines), kept short. */
export function slurmMessage(text: string): string {
  const joined = text.split('\n').map((line) => line.trim()).filter(Boolean).join('; ');
  return joined.length > 500 ? `${joined.slice(0, 500)}…` : joined;
}
