/**
 * Starts local jobs from one long-lived bash process instead of from the engine. Node has no
 * vfork: every child_process.spawn forks the whole engine (its page tables, then a page fault for
 * each page it writes afterwards), which cost more CPU than everything else the engine does for a
 * short job. The launcher is a small bash: for each job it forks a subshell (no exec) that sources
 * the job wrapper, so a job costs one fork of a small process, plus the subshell its script runs in.
 *
 * Protocol. The engine writes one request per job on the launcher's stdin, NUL-separated fields:
 * id, job folder, run folder, wrapper, then the variables to export (count, NAME=value...) and to unset
 * (count, NAME...) relative to the environment the launcher was started with. Every job gets
 * the launcher's stdout as descriptor 3, so that one pipe carries, one line per write:
 *   `P <id> <pid>`     from the launcher, once it has forked the job (pid = its process group);
 *   `S <id>`           from the wrapper, once it has claimed the job folder;
 *   `E <id> <status>`  from the wrapper, once it has recorded the exit status in the folder.
 * A job whose process dies without saying `E` (SIGKILL) is found by the runner's watch over pids.
 * Job control (`set -m`) puts each job in its own process group, so `kill` reaches all it started,
 * and leaves SIGINT and SIGQUIT alone (without it, bash ignores them in background jobs).
 */
import { spawn, type ChildProcess } from 'node:child_process';

const LAUNCHER = `set -m
while IFS= read -r -d '' flotilla_id && IFS= read -r -d '' flotilla_dir && IFS= read -r -d '' flotilla_run \\
  && IFS= read -r -d '' flotilla_wrapper && IFS= read -r -d '' flotilla_count; do
  flotilla_set=(); flotilla_unset=()
  for ((flotilla_i = 0; flotilla_i < flotilla_count; flotilla_i++)); do IFS= read -r -d '' flotilla_kv; flotilla_set+=("$flotilla_kv"); done
  IFS= read -r -d '' flotilla_count
  for ((flotilla_i = 0; flotilla_i < flotilla_count; flotilla_i++)); do IFS= read -r -d '' flotilla_kv; flotilla_unset+=("$flotilla_kv"); done
  (
    ((\${#flotilla_set[@]})) && export "\${flotilla_set[@]}"
    unset -v "\${flotilla_unset[@]}" flotilla_set flotilla_unset flotilla_kv flotilla_i flotilla_count
    cd "$flotilla_run" && . "$flotilla_wrapper" "$flotilla_dir" "$flotilla_id"
  ) </dev/null 3>&1 >"$flotilla_dir/job.out" 2>"$flotilla_dir/job.err" &
  printf 'P %s %s\\n' "$flotilla_id" "$!"
done
`;

export interface LaunchRequest {
  jobDir: string;
  runDir: string;
  /** The job wrapper's file, sourced in the job's process. */
  wrapper: string;
  env: Record<string, string>;
}

export interface LaunchEvents {
  /** The launcher forked the job: its pid, which is also its process group. */
  launched(pid: number): void;
  started(): void;
  ended(status: number): void;
  /** The launcher went away before saying whether it forked the job: the folder must decide. */
  orphaned(reason: string): void;
}

interface Launch {
  events: LaunchEvents;
  /** Until the launcher's `P`: what the job said before it (its own lines may overtake the launcher's). */
  early?: (() => void)[];
}

export class JobLauncher {
  private child: ChildProcess | undefined;
  /** The environment the launcher runs with: each job's is sent as the difference from it. */
  private baseEnv: Record<string, string> = {};
  private nextId = 1;
  private readonly jobs = new Map<number, Launch>();
  private buffered = '';

  /**
   * Sends the job to the launcher (started first if needed) and returns the job's id here; throws
   * when bash cannot start. Events come in order: launched, then started, then ended.
   */
  launch(request: LaunchRequest, events: LaunchEvents): number {
    const child = this.child ?? this.startLauncher(request);
    const id = this.nextId++;
    const set = Object.entries(request.env).filter(([k, v]) => this.baseEnv[k] !== v).map(([k, v]) => `${k}=${v}`);
    const unset = Object.keys(this.baseEnv).filter((k) => !(k in request.env));
    const fields = [String(id), request.jobDir, request.runDir, request.wrapper, String(set.length), ...set, String(unset.length), ...unset];
    this.jobs.set(id, { events, early: [] });
    this.holdOpen(child);
    child.stdin!.write(`${fields.join('\0')}\0`);
    return id;
  }

  /** Jobs keep running; the launcher ends when its stdin does. */
  close(): void {
    this.jobs.clear();
    if (this.child) this.holdOpen(this.child);
    this.child?.stdin?.end();
    this.child = undefined;
  }

  /**
   * While a job's end is awaited, its news keeps the process alive, as a job's own pipe would; an
   * idle launcher does not (nor does the launcher process itself, like the jobs it starts).
   */
  private holdOpen(child: ChildProcess): void {
    const stdout = child.stdout as unknown as { ref(): void; unref(): void };
    if (this.jobs.size > 0) stdout.ref();
    else stdout.unref();
  }

  private startLauncher(request: LaunchRequest): ChildProcess {
    this.baseEnv = { ...request.env };
    // Its own session, like the jobs it starts: nothing aimed at the engine's group reaches them.
    // --norc: with a socket for stdin (Node's pipes are socket pairs) bash would take itself for a
    // remote shell and read ~/.bashrc.
    const child = spawn('bash', ['--norc', '--noprofile', '-c', LAUNCHER, 'flotilla-job-launcher'], {
      cwd: request.runDir, env: this.baseEnv, detached: true, stdio: ['pipe', 'pipe', 'ignore'],
    });
    this.child = child;
    child.stdin!.on('error', () => undefined);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.read(chunk));
    const gone = (why: string) => {
      if (this.child === child) this.child = undefined;
      // Those it never answered may or may not have been forked: the runner asks their folders.
      for (const [id, job] of this.jobs) {
        if (!job.early) continue;
        this.jobs.delete(id);
        job.events.orphaned(why);
      }
      if (this.jobs.size === 0) (child.stdout as unknown as { unref(): void }).unref();
    };
    child.once('error', (err) => gone(`could not run: ${err.message}`));
    child.once('exit', (code, signal) => gone(`ended (${signal ?? `exit status ${code}`})`));
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    return child;
  }

  private read(chunk: string): void {
    const lines = (this.buffered + chunk).split('\n');
    this.buffered = lines.pop()!;
    for (const line of lines) {
      const [kind, idText, value] = line.split(' ');
      const id = Number(idText);
      const job = this.jobs.get(id);
      if (!job) continue;
      if (kind === 'E') this.forget(id);
      const event = kind === 'P' ? () => job.events.launched(Number(value))
        : kind === 'S' ? () => job.events.started()
          : kind === 'E' ? () => job.events.ended(Number(value)) : undefined;
      if (!event) continue;
      if (kind === 'P') {
        const early = job.early ?? [];
        job.early = undefined;
        event();
        for (const later of early) later();
      } else if (job.early) job.early.push(event);
      else event();
    }
  }

  /** The runner found the job's end another way (its process vanished): no more events for it. */
  forget(id: number): void {
    this.jobs.delete(id);
    if (this.child) this.holdOpen(this.child);
  }
}
