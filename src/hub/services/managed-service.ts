import { spawn, type ChildProcess } from 'node:child_process';
import { signalGroup } from '../../spawner/index.js';
import type { Logger } from '../../util/logger.js';
import { eachLine } from './output-lines.js';
import { groupLives, killGroupOf } from '../../util/process-group.js';
import { processStartTicks } from '../../util/proc.js';
import type { ServiceRecords } from './service-records.js';

/** How a crashed service is started again: after `firstDelayMs`, doubling with each crash in a
 * row up to `maxDelayMs`; a run that lasted `stableAfterMs` starts the count afresh. */
const RESTART = { firstDelayMs: 1_000, maxDelayMs: 60_000, stableAfterMs: 60_000 };

/** How long a killed service may take to be reaped before the hub goes on without seeing it. */
const KILL_WAIT_MS = 2_000;
const GROUP_POLL_MS = 50;

export interface ServiceLaunch {
  name: string;
  command: readonly string[];
  env: Record<string, string>;
  cwd: string;
}

/** Resolves once `done` is, or after `ms`, whichever comes first; says which. */
async function within(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([done.then(() => true), late]);
  clearTimeout(timer);
  return result;
}

/**
 * One hub-managed service process: started in a process group of its own (a Ctrl-C meant for
 * the hub does not reach it, and stopping it reaches whatever it started), its output logged line
 * by line under its name, started again after any exit the hub did not ask for, and stopped with
 * SIGTERM, then SIGKILL after a grace.
 */
export class ManagedService {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private crashesInARow = 0;
  private stopping = false;

  constructor(
    private readonly launch: ServiceLaunch,
    private readonly records: ServiceRecords,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.stopping) return;
    const { command, env, cwd, name } = this.launch;
    const startedAt = Date.now();
    const child = spawn(command[0]!, command.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let resolveExit!: () => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    const pid = child.pid;
    // A program that cannot be run at all (missing, not executable, cwd gone) gets 'error' and no pid.
    child.once('error', (err) => {
      if (pid !== undefined) return this.log.warn({ err: err.message }, 'service process error');
      this.child = undefined;
      resolveExit();
      this.crashed(startedAt, `could not be started: ${err.message}`);
    });
    if (pid === undefined) return;
    const ticks = processStartTicks(pid);
    if (ticks !== undefined) this.records.save(name, pid, ticks);
    this.log.info({ pid, command }, 'service started');
    eachLine(child.stdout!, (line) => this.log.info({ stream: 'stdout' }, line));
    eachLine(child.stderr!, (line) => this.log.info({ stream: 'stderr' }, line));
    child.once('exit', (code, signal) => {
      if (!this.stopping) killGroupOf(pid);
      this.records.forget(name, pid);
      if (this.child === child) this.child = undefined;
      resolveExit();
      if (!this.stopping) this.crashed(startedAt, signal ? `was killed by ${signal}` : `exited with status ${code}`);
    });
  }

  /**
   * SIGTERM to the service's process group; SIGKILL to what is left of the group after
   * `graceMs` (the service, or processes it started that outlive it). No restart after it.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const pid = this.child?.pid;
    if (pid === undefined) return;
    const deadline = Date.now() + graceMs;
    signalGroup(pid, 'SIGTERM');
    const stopped = await within(this.exited, graceMs);
    while (stopped && groupLives(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, GROUP_POLL_MS));
    if (!stopped) this.log.warn({ pid, graceMs }, 'service did not stop within its grace after SIGTERM; sending SIGKILL');
    else if (groupLives(pid)) this.log.warn({ pid, graceMs }, 'processes the service started outlived its grace; sending SIGKILL');
    else return void this.log.info({ pid }, 'service stopped');
    killGroupOf(pid);
    await within(this.exited, KILL_WAIT_MS);
  }

  private crashed(startedAt: number, how: string): void {
    if (Date.now() - startedAt >= RESTART.stableAfterMs) this.crashesInARow = 0;
    this.crashesInARow += 1;
    const delayMs = Math.min(RESTART.firstDelayMs * 2 ** (this.crashesInARow - 1), RESTART.maxDelayMs);
    this.log.error({ crashesInARow: this.crashesInARow, restartInMs: delayMs }, `service ${how}; starting it again in ${Math.round(delayMs / 1000)} s`);
    this.restartTimer = setTimeout(() => this.start(), delayMs);
    this.restartTimer.unref();
  }
}
