/**
 * Starts local jobs through one long-lived bash process instead of a spawn from the engine.
 * Node forks its whole process for every child (libuv has no vfork path on Linux), and the copy
 * grows with the engine's memory: on a 2-core virtual machine that was 6-8 ms of the engine's own
 * CPU per job, taken from the thread that also serves pages and live subscriptions. Forking this
 * small bash instead halves the engine's CPU per job; where every fork is dear (that machine) the
 * jobs' own processes spend about what the engine saves, elsewhere less.
 *
 * The engine first sends the starter a base environment (the first job's), then one request per
 * job: run folder (empty when it is the last request's), job folder (within the run folder, as a
 * relative path), and how the job's environment differs from the base (NAME=value to set, NAME
 * alone to unset), each field NUL-terminated and an empty field last. bash reads a pipe a byte at
 * a time, one system call each, so requests are kept that small (the two folders were four fifths
 * of a request's bytes). For each, the starter forks a subshell (its
 * own process group: `set -m`), which takes exactly the job's environment, opens its output files
 * and execs the job wrapper (local-runner.ts) there; the starter answers `spawned` with its pid.
 * The wrapper says `started` and `exited` itself on the same pipe (its descriptor 3), so the
 * engine hears of a job even after the starter is gone.
 * Every message is one write of NUL-terminated fields, far below PIPE_BUF, so messages from many
 * jobs never interleave.
 *
 * The starter holds no state the engine needs: if it dies, jobs it started run on and still
 * report; the next request starts a new one. When the engine dies, the starter reads EOF and
 * exits, leaving its jobs running for the next engine to find (job-lifecycle.ts).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** The wrapper's file name in a run folder (local-runner.ts writes it there). */
export const WRAPPER_FILE = '.flotilla-job-wrapper.sh';

// The environment is cleared of what bash exports by itself (the starter runs with an empty one)
// before the job's own is exported, so that a job sees exactly the environment it was given, but
// for what bash cannot export: names that are not shell identifiers (never sent, see SHELL_NAME)
// and bash's read-only variables (UID, EUID, PPID, SHELLOPTS, …), which bash sets itself. A failed
// export of one variable does not keep the job from starting.
// job.out and job.err exist already (the engine makes them, with its own error handling). The
// starter's own stderr is dropped: with job control bash reports every finished job there.
const STARTER = `
set -m
exec 5>&1 1>/dev/null 2>/dev/null
base_env=()
while IFS= read -r -d '' entry && [ -n "$entry" ]; do base_env+=("$entry"); done
while IFS= read -r -d '' dir && IFS= read -r -d '' job; do
  if [ -n "$dir" ]; then run_dir=$dir; fi
  case $job in /*) job_dir=$job ;; *) job_dir=$run_dir/$job ;; esac
  job_env=()
  job_unset=()
  while IFS= read -r -d '' entry && [ -n "$entry" ]; do
    if [[ $entry == *=* ]]; then job_env+=("$entry"); else job_unset+=("$entry"); fi
  done
  (
    export -n PWD OLDPWD SHLVL _
    export "\${base_env[@]}" "\${job_env[@]}"
    unset -v "\${job_unset[@]}"
    cd "$run_dir" &&
      exec "$BASH" "$run_dir/${WRAPPER_FILE}" "$job_dir" </dev/null >>"$job_dir/job.out" 2>>"$job_dir/job.err" 3>&5 5>&-
  ) &
  printf 'spawned\\0%s\\0%s\\0' "$job_dir" "$!" >&5
done
`;

export interface StarterEvents {
  /** The job's process exists (its wrapper may not have claimed the folder yet). */
  spawned(jobDir: string, pid: number): void;
  started(jobDir: string): void;
  exited(jobDir: string, status: number): void;
  /** The starter process ended; requests it had not answered may or may not have forked. */
  stopped(unanswered: string[]): void;
}

/** How many fields follow each message kind. */
const FIELDS: Record<string, number> = { spawned: 2, started: 1, exited: 2 };

/** One starter process and the requests it has not answered yet, oldest first. */
interface Running {
  child: ChildProcessByStdio<Writable, Readable, null>;
  /** The environment it was given; requests say how a job's differs. */
  base: Record<string, string>;
  /** The run folder of the last request: the next names it only when it differs. */
  runDir?: string;
  unanswered: string[];
}

export class JobStarter {
  private running: Running | undefined;

  constructor(private readonly on: StarterEvents) {}

  /** Asks for `jobDir` to be started; the answer comes as `spawned` (or `stopped`). */
  start(runDir: string, jobDir: string, env: Record<string, string>): void {
    const starter = this.running ?? this.launch(env);
    starter.unanswered.push(jobDir);
    const set = exportable(env).filter(([name, value]) => starter.base[name] !== value);
    const unset = Object.keys(starter.base).filter((name) => !(name in env));
    const sameRun = starter.runDir === runDir;
    starter.runDir = runDir;
    const job = jobDir.startsWith(`${runDir}/`) ? jobDir.slice(runDir.length + 1) : jobDir;
    starter.child.stdin.write(nulFields([sameRun ? '' : runDir, job, ...set.map(([name, value]) => `${name}=${value}`), ...unset, '']));
  }

  /** The starter exits once it has read what was asked; jobs it started run on. */
  close(): void {
    this.running?.child.stdin.end();
    this.running = undefined;
  }

  private launch(base: Record<string, string>): Running {
    // An empty environment: the starter passes each job exactly its own (see STARTER).
    const child = spawn('bash', ['--norc', '--noprofile', '-c', STARTER, 'flotilla-job-starter'], { env: {}, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    const shared = exportable(base);
    const running: Running = { child, base: Object.fromEntries(shared), unanswered: [] };
    this.running = running;
    child.stdin.write(nulFields([...shared.map(([name, value]) => `${name}=${value}`), '']));
    // A starter that died (or never started) leaves a broken pipe behind: what it was asked and
    // did not answer is settled by `stopped`, once.
    child.stdin.on('error', () => undefined);
    let ended = false;
    const stopped = (): void => {
      if (ended) return;
      ended = true;
      if (this.running === running) this.running = undefined;
      const unanswered = running.unanswered.splice(0);
      if (unanswered.length > 0) this.on.stopped(unanswered);
    };
    child.once('error', stopped);
    child.once('exit', stopped);
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending = this.read(pending + chunk, running);
    });
    child.unref();
    (child.stdout as Readable & { unref?: () => void }).unref?.();
    return running;
  }

  /** Handles every whole message in `text` from `starter`'s pipe; returns the unfinished rest. */
  private read(text: string, starter: Running): string {
    let rest = text;
    for (;;) {
      const fields: string[] = [];
      const kindEnd = rest.indexOf('\0');
      if (kindEnd < 0) return rest;
      const kind = rest.slice(0, kindEnd);
      let at = kindEnd + 1;
      const count = FIELDS[kind];
      if (count === undefined) {
        // Only the starter and the wrappers write here, whole messages at a time; a field that
        // names no message is passed over rather than taken for one.
        rest = rest.slice(at);
        continue;
      }
      for (let i = 0; i < count; i++) {
        const end = rest.indexOf('\0', at);
        if (end < 0) return rest;
        fields.push(rest.slice(at, end));
        at = end + 1;
      }
      rest = rest.slice(at);
      this.dispatch(kind, fields, starter);
    }
  }

  private dispatch(kind: string, [jobDir, value]: string[], starter: Running): void {
    if (jobDir === undefined) return;
    if (kind === 'spawned') {
      const index = starter.unanswered.indexOf(jobDir);
      if (index >= 0) starter.unanswered.splice(index, 1);
      this.on.spawned(jobDir, Number(value));
    } else if (kind === 'started') this.on.started(jobDir);
    else this.on.exited(jobDir, Number(value));
  }
}

function nulFields(fields: string[]): string {
  return fields.map((field) => `${field}\0`).join('');
}

/** A name bash can export (and so pass to a job): letters, digits and underscores, not first a digit. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function exportable(env: Record<string, string>): [string, string][] {
  return Object.entries(env).filter(([name]) => SHELL_NAME.test(name));
}
