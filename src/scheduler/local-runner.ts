/**
 * The local job runner: each job runs through a small bash wrapper in its own process group. The
 * wrapper first CLAIMS its job folder by creating `job.pid` exclusively (bash's noclobber: O_EXCL,
 * with no extra process, which matters when jobs are many and short) and writing its pid there,
 * and records its exit status in `job.status`, so that
 * an engine started after a crash can tell a job still running from one that finished (and how),
 * one that was lost, and one that never started. Recovery fences an unclaimed folder by putting
 * its own `job.pid` there first: a wrapper that starts late finds it and exits without running.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createExclusive, writeFileAtomic } from '../util/atomic-write.js';
import { processStartTicks, readProcFile } from '../util/proc.js';
import type { JobCheck, JobEvents, JobRef, JobRunner, JobSubmission, SubmittedJob } from './job-runner.js';

export const WRAPPER_FILE = '.flotilla-job-wrapper.sh';
/** What recovery writes to `job.pid` to fence a submission that never started. */
export const FENCED = 'fenced';
/** The wrapper's exit status when it finds its folder fenced (it ran nothing). */
const EXIT_FENCED = 75;
/**
 * A wrapper creates `job.pid` and then writes its pid into it: an empty `job.pid` is a claim in
 * progress, unless it has stayed empty this long (the wrapper died in between: the job is lost).
 */
const CLAIM_GRACE_MS = 10_000;

// Every step but the job's own subshell is a bash builtin: where a fork or an exec costs several
// ms of CPU (virtual machines, large parents), each extra process (a `cat`, a second bash, an `mv`)
// cost a trivial job more than the job itself. The script runs in a subshell (a fork of this small
// process, no exec) so that its `exit`, traps and options stay its own, and sees no arguments.
// `job.pid` and `job.status` are each written by one write() of a newline-terminated number, and
// read as recorded only with that newline (see readRecord): a file cut short by a kill or a full
// disk never reads as another number, which is what a write-then-rename (one more process here)
// would guarantee. Signals are trapped so that a killed job still leaves a status behind; SIGPIPE
// is ignored only while telling the engine "started", in case the engine is gone by then.
const WRAPPER = `#!/usr/bin/env bash
# Flotilla job wrapper: claims $1, runs $1/job.script and records the exit status in $1/job.status.
flotilla_job_dir=$1
set -C
{ printf '%s\n' "$$" > "$flotilla_job_dir/job.pid"; } 2>/dev/null || exit ${EXIT_FENCED}
set +C
flotilla_record() { printf '%s\n' "$1" > "$flotilla_job_dir/job.status"; }
trap 'flotilla_record 143; exit 143' TERM
trap 'flotilla_record 130; exit 130' INT
trap 'flotilla_record 129; exit 129' HUP
trap '' PIPE
printf 'started\n' >&3
exec 3>&-
trap - PIPE
( unset -f flotilla_record; set --; . "$flotilla_job_dir/job.script" ) </dev/null
flotilla_status=$?
flotilla_record "$flotilla_status"
exit "$flotilla_status"
`;

/** Writes the job wrapper into the run directory if it is missing or out of date (every runner uses it). */
export function installWrapper(runDir: string): void {
  const path = join(runDir, WRAPPER_FILE);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== WRAPPER) writeFileAtomic(path, WRAPPER, 0o700);
}

/**
 * Makes a new job folder with its script; throws when the folder exists already: a folder is
 * never reused, so no earlier job's files can be mistaken for this one's.
 */
export function makeJobFolder(job: JobSubmission): void {
  mkdirSync(dirname(job.jobDir), { recursive: true });
  try {
    mkdirSync(job.jobDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`job folder ${job.jobDir} already exists (job folders are never reused)`);
    throw err;
  }
  writeFileSync(join(job.jobDir, 'job.script'), job.script, { mode: 0o600 });
}

/**
 * Fences a folder no wrapper has claimed, so that a wrapper starting later exits without running
 * anything. False when a wrapper claimed it first (it runs, and is watched like any other).
 */
export function fenceJobFolder(jobDir: string): boolean {
  mkdirSync(jobDir, { recursive: true });
  return createExclusive(join(jobDir, 'job.pid'), `${FENCED}\n`);
}

/** The exit status the wrapper recorded, if it has. */
export function readExitStatus(jobDir: string): number | undefined {
  return readNumberFile(join(jobDir, 'job.status'));
}

export class LocalJobRunner implements JobRunner {
  /**
   * Jobs this engine started whose exit it has not heard yet, by folder. Their exit event decides
   * how they ended (the status file, or the wrapper's own exit status when a full disk refused
   * that file); until it comes, a job whose process is already gone, a zombie not yet reaped on
   * a busy loop, is still running here and never "lost".
   */
  private readonly children = new Map<string, number>();

  prepare(runDir: string): void {
    installWrapper(runDir);
  }

  /**
   * Starts a job detached (its own process group, so `kill` reaches everything it started) and
   * resolves with its pid. Rejects when the process cannot be started, or when the job folder
   * exists already (see makeJobFolder).
   */
  async submit(job: JobSubmission, events: JobEvents): Promise<SubmittedJob> {
    makeJobFolder(job);
    const out = openSync(join(job.jobDir, 'job.out'), 'w', 0o600);
    const err = openSync(join(job.jobDir, 'job.err'), 'w', 0o600);
    return new Promise((resolve, reject) => {
      let child;
      try {
        child = spawn('bash', [join(job.runDir, WRAPPER_FILE), job.jobDir], {
          cwd: job.runDir,
          env: job.env,
          detached: true,
          stdio: ['ignore', out, err, 'pipe'],
        });
      } finally {
        closeSync(out);
        closeSync(err);
      }
      const signal = child.stdio[3];
      signal?.on('data', () => events.started());
      signal?.on('error', () => undefined);
      let spawned = false;
      child.once('error', (e) => {
        if (!spawned) reject(e);
      });
      child.once('spawn', () => {
        spawned = true;
        this.children.set(job.jobDir, child.pid!);
        child.unref();
        resolve({ pid: child.pid! });
      });
      child.once('exit', (code, sig) => {
        signal?.destroy();
        this.children.delete(job.jobDir);
        if (!spawned) return;
        events.exited(readNumberFile(join(job.jobDir, 'job.status')) ?? code ?? 128 + signalNumber(sig));
      });
    });
  }

  poll({ jobDir }: JobRef): JobCheck {
    const status = readNumberFile(join(jobDir, 'job.status'));
    if (status !== undefined) return { kind: 'finished', status };
    const claim = readClaim(jobDir);
    if (claim === undefined) return { kind: 'unclaimed' };
    if (claim === FENCED) return { kind: 'never-started' };
    if (claim === CLAIMING) return { kind: 'unclaimed' };
    if (claim === ABANDONED) return { kind: 'lost' };
    if (isJobAlive(claim, jobDir) || this.children.get(jobDir) === claim) return { kind: 'running', pid: claim };
    // It may have finished between the two reads.
    const late = readNumberFile(join(jobDir, 'job.status'));
    return late !== undefined ? { kind: 'finished', status: late } : { kind: 'lost' };
  }

  recover(job: JobRef): JobCheck {
    const check = this.poll(job);
    if (check.kind !== 'unclaimed') return check;
    // Unless the wrapper claimed it a moment ago: then it runs, and is watched like any other
    // (while its pid is still being written this says unclaimed, and the next poll looks again).
    return fenceJobFolder(job.jobDir) ? { kind: 'never-started' } : this.poll(job);
  }

  /** SIGTERM to the job's whole process group, SIGKILL if anything is left after the grace time. */
  kill({ pid }: JobRef, graceMs = 3000): void {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      if (groupAlive(pid)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Gone between the check and the kill.
        }
      }
    }, graceMs);
    timer.unref();
  }

  close(): void {
    // Local jobs are watched through their own processes: nothing to stop.
  }
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return (sig && numbers[sig]) || 1;
}

export const CLAIMING = 'claiming';
export const ABANDONED = 'abandoned';

/**
 * The wrapper's pid; FENCED; CLAIMING (created, pid not yet written); ABANDONED (still empty
 * after the grace time); or undefined when nothing has claimed the folder.
 */
export function readClaim(jobDir: string): number | typeof FENCED | typeof CLAIMING | typeof ABANDONED | undefined {
  const path = join(jobDir, 'job.pid');
  try {
    const text = readFileSync(path, 'utf8');
    if (text.trim() === FENCED) return FENCED;
    const pid = recordedNumber(text);
    if (pid !== undefined) return pid;
    return Date.now() - statSync(path).mtimeMs < CLAIM_GRACE_MS ? CLAIMING : ABANDONED;
  } catch {
    return undefined;
  }
}

/** The number a wrapper wrote to `path`, once the whole of it is there (see WRAPPER). */
function readNumberFile(path: string): number | undefined {
  try {
    return recordedNumber(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A number with its newline: anything less is a write not finished (or cut short). */
function recordedNumber(text: string): number | undefined {
  return /^[0-9]+\n$/.test(text) ? Number(text) : undefined;
}

/** True when `pid` is alive, not a zombie, and (where /proc exists) is this job's wrapper. */
function isJobAlive(pid: number, jobDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync('/proc')) return true;
  // Not a zombie, and not a recycled pid: the wrapper's command line names the job dir.
  if (processStartTicks(pid) === undefined) return false;
  return readProcFile(pid, 'cmdline')?.split('\0').includes(jobDir) ?? false;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function jobDirFor(runDir: string, cycle: number, name: string, submitNum: number): string {
  return join(runDir, 'log', 'job', String(cycle), name, String(submitNum).padStart(2, '0'));
}
