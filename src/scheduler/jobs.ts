/**
 * Real job processes. Each job runs through a small bash wrapper in its own process group, which
 * records its pid and exit status in the job directory, so that an engine started after a crash
 * can tell a job still running from one that finished (and how) or one that was lost.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

export const WRAPPER_FILE = '.flotilla-job-wrapper.sh';

// Signals are trapped so that a killed job still leaves a status behind; SIGPIPE is ignored only
// while telling the engine "started", in case the engine is gone by then.
const WRAPPER = `#!/usr/bin/env bash
# Flotilla job wrapper: runs $1/job.script and records the exit status in $1/job.status.
job_dir=$1
record() { printf '%s\\n' "$1" > "$job_dir/job.status.tmp" && mv -f "$job_dir/job.status.tmp" "$job_dir/job.status"; }
trap 'record 143; exit 143' TERM
trap 'record 130; exit 130' INT
trap 'record 129; exit 129' HUP
printf '%s\\n' "$$" > "$job_dir/job.pid"
trap '' PIPE
printf 'started\\n' >&3
exec 3>&-
trap - PIPE
bash -c "$(cat "$job_dir/job.script")" </dev/null
status=$?
record "$status"
exit "$status"
`;

export interface JobSpec {
  runDir: string;
  jobDir: string;
  script: string;
  env: Record<string, string>;
}

export interface JobEvents {
  started(): void;
  exited(status: number): void;
}

/** Writes the wrapper into the run directory if it is missing or out of date. */
export function ensureWrapper(runDir: string): string {
  const path = join(runDir, WRAPPER_FILE);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== WRAPPER) writeFileAtomic(path, WRAPPER, 0o700);
  return path;
}

/**
 * Starts a job detached (its own process group, so `kill` reaches everything it started) and
 * returns its pid. Rejects when the process cannot be started: the caller marks submit-failed.
 */
export async function launchJob(spec: JobSpec, events: JobEvents): Promise<number> {
  mkdirSync(spec.jobDir, { recursive: true });
  // No fsync: after a crash an unstarted job is simply submitted again.
  writeFileSync(join(spec.jobDir, 'job.script'), spec.script, { mode: 0o600 });
  const out = openSync(join(spec.jobDir, 'job.out'), 'w', 0o600);
  const err = openSync(join(spec.jobDir, 'job.err'), 'w', 0o600);
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn('bash', [join(spec.runDir, WRAPPER_FILE), spec.jobDir], {
        cwd: spec.runDir,
        env: spec.env,
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
      child.unref();
      resolve(child.pid!);
    });
    child.once('exit', (code, sig) => {
      signal?.destroy();
      if (!spawned) return;
      events.exited(readJobStatus(spec.jobDir) ?? code ?? 128 + signalNumber(sig));
    });
  });
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return (sig && numbers[sig]) || 1;
}

export function readJobStatus(jobDir: string): number | undefined {
  return readNumberFile(join(jobDir, 'job.status'));
}

export function readJobPid(jobDir: string): number | undefined {
  return readNumberFile(join(jobDir, 'job.pid'));
}

function readNumberFile(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^[0-9]+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive, not a zombie, and (where /proc exists) is this job's wrapper. */
export function isJobAlive(pid: number, jobDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const proc = `/proc/${pid}`;
  if (!existsSync(proc)) return true;
  try {
    const stat = readFileSync(`${proc}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    // A recycled pid belongs to some other program: the wrapper's command line names the job dir.
    return readFileSync(`${proc}/cmdline`, 'utf8').split('\0').includes(jobDir);
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

/** SIGTERM to the job's whole process group, SIGKILL if anything is left after the grace time. */
export function killJob(pid: number, graceMs = 3000): void {
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

export function jobDirFor(runDir: string, cycle: number, name: string, submitNum: number): string {
  return join(runDir, 'log', 'job', String(cycle), name, String(submitNum).padStart(2, '0'));
}
