/**
 * The local job runner: each job runs through a small bash wrapper in its own process group. The
 * wrapper first CLAIMS its job folder by creating `job.pid` exclusively (bash's noclobber: O_EXCL,
 * with no extra process, which matters when jobs are many and short) and writing its pid there,
 * and records its exit status in `job.status`, so that
 * an engine started after a crash can tell a job still running from one that finished (and how),
 * one that was lost, and one that never started. Recovery fences an unclaimed folder by putting
 * its own `job.pid` there first: a wrapper that starts late finds it and exits without running.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createExclusive, writeFileAtomic } from '../util/atomic-write.js';
import { groupLives } from '../util/process-group.js';
import { processStartTicks, readProcFile } from '../util/proc.js';
import type { JobCheck, JobEvents, JobRef, JobRunner, JobSubmission, SubmittedJob } from './job-runner.js';
import { JobStarter, WRAPPER_FILE } from './job-starter.js';

export { WRAPPER_FILE };

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
// process, no exec) so that its `exit`, traps and options stay its own; it sees no arguments and
// not the engine's descriptor 3.
// `job.pid` and `job.status` are each written by one write() of a newline-terminated number, and
// read as recorded only with that newline (see recordedNumber): a file cut short by a kill or a
// full disk never reads as another number, which is what a write-then-rename (one more process
// here) would guarantee. Signals are trapped so that a killed job still leaves a status behind.
// The engine hears `started` and `exited` (job-starter.ts) on descriptor 3, after the status is
// written; SIGPIPE is ignored while telling it, in case the engine is gone by then.
const WRAPPER = `#!/usr/bin/env bash
# Flotilla job wrapper: claims $1, runs $1/job.script and records the exit status in $1/job.status.
flotilla_job_dir=$1
set -C
{ printf '%s\\n' "$$" > "$flotilla_job_dir/job.pid"; } 2>/dev/null || exit ${EXIT_FENCED}
set +C
flotilla_tell() { trap '' PIPE; printf "$@" >&3; trap - PIPE; } 2>/dev/null
flotilla_end() {
  printf '%s\\n' "$1" > "$flotilla_job_dir/job.status"
  flotilla_tell 'exited\\0%s\\0%s\\0' "$flotilla_job_dir" "$1"
  exit "$1"
}
trap 'flotilla_end 143' TERM
trap 'flotilla_end 130' INT
trap 'flotilla_end 129' HUP
flotilla_tell 'started\\0%s\\0' "$flotilla_job_dir"
( unset -f flotilla_tell flotilla_end; set --; . "$flotilla_job_dir/job.script" ) </dev/null 3>&-
flotilla_end "$?"
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

/** The exit status the wrapper recorded, once the whole of it is there (see WRAPPER). */
export function readExitStatus(jobDir: string): number | undefined {
  try {
    return recordedNumber(readFileSync(join(jobDir, 'job.status'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** A job this runner started whose end it has not heard yet. */
interface Watched {
  events: JobEvents;
  /** Set once the starter says the job's process exists. */
  pid?: number;
  spawned?: (job: SubmittedJob) => void;
  refused?: (err: Error) => void;
  /** The signal this runner last sent the job: a process gone without a status died of it. */
  killedBy?: number;
}

/** How often jobs whose process vanished without a word (SIGKILL, say) are looked for. */
const WATCH_INTERVAL_MS = 1000;
/** How soon after a signal of its own this runner looks, so that a killed job ends promptly. */
const LOOK_AFTER_KILL_MS = 100;
const SIGKILL = 9;
const SIGTERM = 15;

export class LocalJobRunner implements JobRunner {
  /**
   * Jobs this engine started whose end it has not heard yet, by folder. A job reports its own end
   * (`exited`, after writing its status file); one whose process is gone without a word is found
   * by the watch, and until then is running here, never "lost".
   */
  private readonly children = new Map<string, Watched>();
  private readonly starter = new JobStarter({
    spawned: (jobDir, pid) => this.spawned(jobDir, pid),
    started: (jobDir) => this.children.get(jobDir)?.events.started(),
    exited: (jobDir, status) => this.ended(jobDir, readExitStatus(jobDir) ?? status),
    stopped: (unanswered) => {
      for (const jobDir of unanswered) this.settleUnanswered(jobDir);
    },
  });
  private watch: NodeJS.Timeout | undefined;

  prepare(runDir: string): void {
    installWrapper(runDir);
  }

  /**
   * Starts a job in its own process group (so `kill` reaches everything it started) and resolves
   * with its pid. Rejects when the job folder exists already (see makeJobFolder), when its output
   * files cannot be made, or when the job starter stopped before it could start the job.
   */
  async submit(job: JobSubmission, events: JobEvents): Promise<SubmittedJob> {
    makeJobFolder(job);
    // Made here, not by the starter, so that a full disk is seen as such (the engine backs off).
    for (const file of ['job.out', 'job.err']) closeSync(openSync(join(job.jobDir, file), 'w', 0o600));
    return new Promise((resolve, reject) => {
      this.children.set(job.jobDir, { events, spawned: resolve, refused: reject });
      this.starter.start(job.runDir, job.jobDir, job.env);
      // Not unref'd: like a child process of its own, a running job keeps this process alive.
      this.watch ??= setInterval(() => this.lookForVanished(), WATCH_INTERVAL_MS);
    });
  }

  private spawned(jobDir: string, pid: number): void {
    const job = this.children.get(jobDir);
    if (!job?.spawned) return;
    job.pid = pid;
    job.spawned({ pid });
    delete job.spawned;
    delete job.refused;
  }

  private ended(jobDir: string, status: number): void {
    const job = this.children.get(jobDir);
    if (!job) return;
    this.forget(jobDir);
    job.events.exited(status);
  }

  /**
   * The starter stopped without answering for `jobDir`: it may have forked the job or not. Fenced
   * now, it never starts, and the submission failed; claimed already, it runs, and is watched.
   */
  private settleUnanswered(jobDir: string): void {
    const job = this.children.get(jobDir);
    if (!job?.refused) return;
    if (fenceJobFolder(jobDir)) {
      this.forget(jobDir);
      job.refused(new Error('the job starter stopped before it started the job'));
      return;
    }
    const claim = readClaim(jobDir);
    if (typeof claim === 'number') this.spawned(jobDir, claim);
    else if (claim === CLAIMING) setTimeout(() => this.settleUnanswered(jobDir), 20).unref();
    else {
      this.forget(jobDir);
      job.spawned?.({});
      job.events.lost('its wrapper died while claiming its folder');
    }
  }

  /** Jobs whose process is gone without an `exited`: their status file, if any, says how it went. */
  private lookForVanished(): void {
    for (const [jobDir, job] of this.children) {
      if (job.pid === undefined || processAlive(job.pid)) continue;
      const status = readExitStatus(jobDir);
      if (status !== undefined) this.ended(jobDir, status);
      else if (job.killedBy !== undefined) this.ended(jobDir, 128 + job.killedBy);
      else {
        this.forget(jobDir);
        job.events.lost('its wrapper ended without recording an exit status');
      }
    }
  }

  /** No longer watched: its end has been told (or is being told) to the engine. */
  private forget(jobDir: string): void {
    this.children.delete(jobDir);
    if (this.children.size === 0) this.stopWatching();
  }

  private stopWatching(): void {
    clearInterval(this.watch);
    this.watch = undefined;
  }

  poll({ jobDir }: JobRef): JobCheck {
    const status = readExitStatus(jobDir);
    if (status !== undefined) return { kind: 'finished', status };
    const claim = readClaim(jobDir);
    if (claim === undefined) return { kind: 'unclaimed' };
    if (claim === FENCED) return { kind: 'never-started' };
    if (claim === CLAIMING) return { kind: 'unclaimed' };
    if (claim === ABANDONED) return { kind: 'lost' };
    if (isJobAlive(claim, jobDir) || this.children.get(jobDir)?.pid === claim) return { kind: 'running', pid: claim };
    // It may have finished between the two reads.
    const late = readExitStatus(jobDir);
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
    if (!this.signal(pid, SIGTERM)) return;
    const timer = setTimeout(() => {
      if (groupLives(pid)) this.signal(pid, SIGKILL);
    }, graceMs);
    timer.unref();
  }

  /** Signals the job's whole group; false when nothing is left of it. */
  private signal(pid: number, signal: typeof SIGTERM | typeof SIGKILL): boolean {
    for (const job of this.children.values()) if (job.pid === pid) job.killedBy = signal;
    try {
      process.kill(-pid, signal === SIGKILL ? 'SIGKILL' : 'SIGTERM');
    } catch {
      return false;
    }
    // Killed before its traps were set, a wrapper says nothing: it is found gone here.
    setTimeout(() => this.lookForVanished(), LOOK_AFTER_KILL_MS).unref();
    return true;
  }

  /** Jobs run on (the next engine finds them); the starter exits once it has read what was asked. */
  close(): void {
    this.starter.close();
    this.stopWatching();
  }
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

/** A number with its newline: anything less is a write not finished (or cut short). */
function recordedNumber(text: string): number | undefined {
  return /^[0-9]+\n$/.test(text) ? Number(text) : undefined;
}

/** Whether this system has /proc to tell a zombie or a recycled pid (looked at once). */
const HAVE_PROC = existsSync('/proc');

/** True when `pid` is alive and not a zombie (where /proc exists to tell). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !HAVE_PROC || processStartTicks(pid) !== undefined;
}

/** True when `pid` is alive, not a zombie, and (where /proc exists) is this job's wrapper. */
function isJobAlive(pid: number, jobDir: string): boolean {
  if (!processAlive(pid)) return false;
  // Not a recycled pid: the wrapper's command line names the job dir.
  return !HAVE_PROC || (readProcFile(pid, 'cmdline')?.split('\0').includes(jobDir) ?? false);
}

export function jobDirFor(runDir: string, cycle: number, name: string, submitNum: number): string {
  return join(runDir, 'log', 'job', String(cycle), name, String(submitNum).padStart(2, '0'));
}
