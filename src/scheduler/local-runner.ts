/**
 * The local job runner: each job runs the job wrapper in its own process group, forked by the job
 * launcher (job-launcher.ts). The wrapper first CLAIMS its job folder by creating `job.pid`
 * exclusively (bash's noclobber: O_EXCL, with no extra process, which matters when jobs are many
 * and short) and writing its pid and start time there, and records its exit status in
 * `job.status`, so that an engine started after a crash can tell a job still running from one
 * that finished (and how), one that was lost, and one that never started. Recovery fences an
 * unclaimed folder by putting its own `job.pid` there first: a wrapper that starts late finds it
 * and exits without running.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createExclusive, writeFileAtomic } from '../util/atomic-write.js';
import { JobLauncher } from './job-launcher.js';
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

// Only builtins here: a job costs no process but its own (the launcher forks it and it sources
// this file; Slurm's batch script execs it), plus the subshell its script runs in, a fork without
// an exec, so that the script's `exit`, `exec`, traps and variables cannot keep the wrapper from
// recording its status. The claim names the process by its start time too (field 22 of
// /proc/PID/stat, where there is one), since its command line is the launcher's, not this job's:
// a recycled pid is not mistaken for the job. The status is one write of a few bytes ending in a
// newline: a reader takes it only once the newline is there (readExitStatus), so no rename (and
// no `mv` process) is needed. Lines for the engine go to descriptor 3 (see job-launcher.ts) with
// SIGPIPE ignored, in case the engine is gone by then; signals are trapped so that a killed job
// still leaves a status behind.
const WRAPPER = `#!/usr/bin/env bash
# Flotilla job wrapper: claims $1, runs $1/job.script and records the exit status in $1/job.status.
# Tells descriptor 3 "S $2" once claimed and "E $2 STATUS" at the end.
flotilla_job_dir=$1
flotilla_job_id=$2
flotilla_claim=$BASHPID
if read -r flotilla_stat < "/proc/$BASHPID/stat"; then
  read -r -a flotilla_stat <<< "\${flotilla_stat##*) }"
  flotilla_claim+=" \${flotilla_stat[19]}"
fi 2>/dev/null
set -C
{ printf '%s\\n' "$flotilla_claim" > "$flotilla_job_dir/job.pid"; } 2>/dev/null || exit ${EXIT_FENCED}
set +C
flotilla_tell() { trap '' PIPE; printf '%s\\n' "$1" >&3; trap - PIPE; } 2>/dev/null
flotilla_end() { printf '%s\\n' "$1" > "$flotilla_job_dir/job.status"; flotilla_tell "E $flotilla_job_id $1"; exit "$1"; }
trap 'flotilla_end 143' TERM
trap 'flotilla_end 130' INT
trap 'flotilla_end 129' HUP
flotilla_tell "S $flotilla_job_id"
( unset -f flotilla_tell flotilla_end; set --; . "$flotilla_job_dir/job.script" ) </dev/null 3>&-
flotilla_end $?
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

/**
 * The exit status the wrapper recorded, if it has: only a whole line counts, since the wrapper
 * writes it in place (a reader may find the file created but not yet written).
 */
export function readExitStatus(jobDir: string): number | undefined {
  try {
    const text = readFileSync(join(jobDir, 'job.status'), 'utf8');
    return /^[0-9]+\n/.test(text) ? Number.parseInt(text, 10) : undefined;
  } catch {
    return undefined;
  }
}

/** How often the processes of running jobs are looked at, for one that died without saying so (SIGKILL). */
const WATCH_INTERVAL_MS = 500;

interface WatchedJob {
  /** The launcher's id for it (see job-launcher.ts). */
  id: number;
  /** Set once the launcher has said it forked the job (or, gone, left the folder to say so). */
  launched: boolean;
  /** The process the launcher forked. */
  pid?: number;
  events: JobEvents;
}

export class LocalJobRunner implements JobRunner {
  private readonly launcher = new JobLauncher();
  /** Jobs launched here whose end has not been seen yet, by job folder. */
  private readonly watched = new Map<string, WatchedJob>();
  private watchTimer: NodeJS.Timeout | undefined;

  prepare(runDir: string): void {
    installWrapper(runDir);
  }

  /**
   * Starts a job through the launcher, in its own process group (so `kill` reaches everything it
   * started), and resolves with its pid. Rejects when the job cannot be started, or when the job
   * folder exists already (see makeJobFolder).
   */
  async submit(job: JobSubmission, events: JobEvents): Promise<SubmittedJob> {
    makeJobFolder(job);
    // Made here, owner-only: the launcher's redirections then keep that mode.
    for (const file of ['job.out', 'job.err']) closeSync(openSync(join(job.jobDir, file), 'w', 0o600));
    return new Promise((resolve, reject) => {
      const watched: WatchedJob = { id: 0, launched: false, events };
      const running = (pid: number | undefined) => {
        watched.launched = true;
        watched.pid = pid;
        this.armWatch();
        resolve(pid === undefined ? {} : { pid });
      };
      watched.id = this.launcher.launch({ jobDir: job.jobDir, runDir: job.runDir, wrapper: join(job.runDir, WRAPPER_FILE), env: job.env }, {
        launched: running,
        started: () => events.started(),
        ended: (status) => {
          if (this.watched.delete(job.jobDir)) events.exited(status);
        },
        orphaned: (why) => {
          // Whether or not it was forked, fenced it never runs; claimed, it runs and is watched.
          if (fenceJobFolder(job.jobDir)) {
            this.watched.delete(job.jobDir);
            reject(new Error(`the job launcher ${why} before starting the job`));
          } else {
            const claim = readClaim(job.jobDir);
            running(typeof claim === 'number' ? claim : undefined);
          }
        },
      });
      this.watched.set(job.jobDir, watched);
    });
  }

  /**
   * The launcher hears of every job's end from the job itself; one killed outright says nothing,
   * so the processes of running jobs are looked at now and then, and the folder decides.
   */
  private armWatch(): void {
    if (this.watchTimer) return;
    this.watchTimer = setInterval(() => {
      for (const [jobDir, job] of this.watched) {
        // Until then the launcher's own word comes first (its events keep their order).
        if (!job.launched) continue;
        const check = this.poll({ jobDir });
        if (check.kind === 'running') continue;
        // Unclaimed: it has yet to claim (its process is alive, or unknown) or died before it could.
        if (check.kind === 'unclaimed' && (job.pid === undefined || processAlive(job.pid) || !fenceJobFolder(jobDir))) continue;
        this.watched.delete(jobDir);
        this.launcher.forget(job.id);
        if (check.kind === 'finished') job.events.exited(check.status);
        else if (check.kind === 'lost') job.events.lost(check.reason ?? 'its process is gone and left no exit status');
        else job.events.neverStarted('its process ended before it could claim its job folder');
      }
      if (this.watched.size === 0) {
        clearInterval(this.watchTimer);
        this.watchTimer = undefined;
      }
    }, WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  poll({ jobDir }: JobRef): JobCheck {
    const status = readExitStatus(jobDir);
    if (status !== undefined) return { kind: 'finished', status };
    const claim = readClaimFile(jobDir);
    if (claim === undefined) return { kind: 'unclaimed' };
    if (claim === FENCED) return { kind: 'never-started' };
    if (claim === CLAIMING) return { kind: 'unclaimed' };
    if (claim === ABANDONED) return { kind: 'lost' };
    if (isJobAlive(claim, jobDir)) return { kind: 'running', pid: claim.pid };
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

  /** Jobs keep running (a later engine finds them again by their folders). */
  close(): void {
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    this.watched.clear();
    this.launcher.close();
  }
}

export const CLAIMING = 'claiming';
export const ABANDONED = 'abandoned';

/** A claim by a live wrapper: its pid, and its start time where the wrapper could read it. */
interface Claim {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot). */
  startTime?: string;
}

/**
 * The wrapper's pid; FENCED; CLAIMING (created, pid not yet written); ABANDONED (still empty
 * after the grace time); or undefined when nothing has claimed the folder.
 */
export function readClaim(jobDir: string): number | typeof FENCED | typeof CLAIMING | typeof ABANDONED | undefined {
  const claim = readClaimFile(jobDir);
  return typeof claim === 'object' ? claim.pid : claim;
}

function readClaimFile(jobDir: string): Claim | typeof FENCED | typeof CLAIMING | typeof ABANDONED | undefined {
  const path = join(jobDir, 'job.pid');
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === FENCED) return FENCED;
    // "PID START" from this wrapper, "PID" from one older or without /proc.
    const match = /^([0-9]+)(?: ([0-9]+))?$/.exec(text);
    if (match) return { pid: Number(match[1]), ...(match[2] !== undefined ? { startTime: match[2] } : {}) };
    return Date.now() - statSync(path).mtimeMs < CLAIM_GRACE_MS ? CLAIMING : ABANDONED;
  } catch {
    return undefined;
  }
}

/** The fields of /proc/PID/stat after the command name, or undefined without /proc or such a process. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and not a zombie. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return procStat(pid)?.[0] !== 'Z';
}

/**
 * True when the claiming wrapper is alive, not a zombie, and (where /proc exists) not some other
 * process that got its pid since: same start time, or for a claim without one, a command line
 * that names the job folder (an older wrapper, run as its own process).
 */
function isJobAlive(claim: Claim, jobDir: string): boolean {
  try {
    process.kill(claim.pid, 0);
  } catch {
    return false;
  }
  if (!existsSync('/proc/self/stat')) return true;
  const fields = procStat(claim.pid);
  if (!fields || fields[0] === 'Z') return false;
  // Field 22 of the whole line is the 20th after the command name.
  if (claim.startTime !== undefined) return fields[19] === claim.startTime;
  try {
    return readFileSync(`/proc/${claim.pid}/cmdline`, 'utf8').split('\0').includes(jobDir);
  } catch {
    return false;
  }
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
