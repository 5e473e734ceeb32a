/**
 * The Slurm job runner: submits with `sbatch --parsable` and watches every job of its platform
 * with one `squeue` call per poll interval (and `sacct` for jobs squeue has forgotten, where the
 * cluster keeps accounting). The job folder is the same as a local job's, and the status file the
 * wrapper writes wins over anything Slurm says: Slurm only decides the cases the folder cannot
 * (still queued, or gone without a status).
 *
 * Exactly once, as for local jobs: the job claims its folder when it starts; a submission whose
 * job left the queue unstarted, or whose id was never learnt (a crash during sbatch), is fenced,
 * so that even a job Slurm starts later exits without running anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SlurmPlatformConfig } from '../../config/site.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { Logger } from '../../util/logger.js';
import type { JobCheck, JobEvents, JobRef, JobRunner, JobSubmission, SubmittedJob } from '../job-runner.js';
import { ABANDONED, CLAIMING, FENCED, fenceJobFolder, installWrapper, makeJobFolder, readClaim, readExitStatus } from '../local-runner.js';
import { BATCH_SCRIPT_FILE, JOB_ID_FILE, batchScript, parseJobId, sbatchArgs } from './batch-script.js';
import { runCommand, slurmMessage, SlurmQueue, type CommandResult, type QueueState } from './queue.js';

interface Watched {
  jobDir: string;
  /** Set for jobs this runner submitted: it tells the engine how they go. */
  events?: JobEvents;
  started: boolean;
  /** For jobs found again after a restart: when the engine last asked (they are dropped when it stops asking). */
  askedAt: number;
}

/**
 * sbatch calls in flight at once per platform: each is a process and an RPC the controller
 * serialises anyway, so hundreds at once only slow every one of them (and the machine) down.
 */
const SBATCH_IN_FLIGHT = 8;

export class SlurmJobRunner implements JobRunner {
  readonly queue: SlurmQueue;
  private readonly watched = new Map<string, Watched>();
  private readonly states = new Map<string, QueueState>();
  /** Looks at Slurm so far; and, per job Slurm calls over with no exit status seen yet, the look that first saw it. */
  private looks = 0;
  private readonly endedWithoutStatus = new Map<string, number>();
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private submitting = 0;
  private readonly waitingToSubmit: (() => void)[] = [];
  private queueTrouble: string | undefined;
  private closed = false;

  /** `refusal`: why no job may be submitted here at all (the server runs as the wrong account). */
  constructor(
    readonly platform: string,
    private readonly settings: SlurmPlatformConfig,
    private readonly logger: Logger,
    private readonly refusal?: string,
  ) {
    this.intervalMs = settings.poll_interval * 1000;
    this.queue = new SlurmQueue(settings.commands, settings.submit_timeout * 1000);
  }

  prepare(runDir: string): void {
    installWrapper(runDir);
  }

  async submit(job: JobSubmission, events: JobEvents): Promise<SubmittedJob> {
    if (this.refusal !== undefined) throw new Error(`platform ${this.platform}: ${this.refusal}`);
    makeJobFolder(job);
    for (const file of ['job.out', 'job.err']) writeFileSync(join(job.jobDir, file), '', { mode: 0o600 });
    writeFileSync(join(job.jobDir, BATCH_SCRIPT_FILE), batchScript(job), { mode: 0o700 });
    const result = await this.sbatch(job);
    let id = result.code === 0 ? parseJobId(result.stdout) : undefined;
    if (id === undefined) {
      // sbatch may have queued the job before it failed or timed out: fenced, it can never run.
      // Unless it has started already, and then it is this submission's job after all.
      id = fenceJobFolder(job.jobDir) ? undefined : readJobId(job.jobDir);
      if (id === undefined) {
        const said = slurmMessage(result.stderr) || (result.code === 0 ? `sbatch printed no job id: ${JSON.stringify(result.stdout.trim().slice(0, 200))}` : `sbatch exit status ${result.code}`);
        throw new Error(`Slurm refused the job (platform ${this.platform}): ${said}`);
      }
    }
    writeFileAtomic(join(job.jobDir, JOB_ID_FILE), `${id}\n`);
    this.watched.set(id, { jobDir: job.jobDir, events, started: false, askedAt: Date.now() });
    this.scheduleLook();
    return { jobId: id };
  }

  /** Runs sbatch once there is room (SBATCH_IN_FLIGHT); its timeout starts when it does. */
  private async sbatch(job: JobSubmission): Promise<CommandResult> {
    // A finishing call hands its slot straight to the next waiting one.
    if (this.submitting < SBATCH_IN_FLIGHT) this.submitting++;
    else await new Promise<void>((resolve) => this.waitingToSubmit.push(resolve));
    try {
      return await runCommand(this.settings.commands.sbatch, sbatchArgs(job), { timeoutMs: this.settings.submit_timeout * 1000, env: job.env, cwd: job.runDir });
    } finally {
      const next = this.waitingToSubmit.shift();
      if (next) next();
      else this.submitting--;
    }
  }

  poll(job: JobRef): JobCheck {
    return this.examine(job, false);
  }

  recover(job: JobRef): JobCheck {
    return this.examine(job, true);
  }

  kill(job: JobRef): void {
    const id = job.jobId ?? readJobId(job.jobDir);
    if (id === undefined) {
      // No id yet (sbatch still running, or the engine died while it ran): if the job has not
      // started, it never will; the id, when sbatch answers, gets the scancel.
      fenceJobFolder(job.jobDir);
      return;
    }
    void runCommand(this.settings.commands.scancel, [id], { timeoutMs: this.settings.submit_timeout * 1000 }).then((result) => {
      if (result.code !== 0) this.logger.warn({ platform: this.platform, jobId: id, err: slurmMessage(result.stderr) }, 'scancel failed');
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * What a submission's folder and Slurm's last answer say. With `mayFence` (recovery), a
   * submission that can no longer start is fenced and reported never-started.
   */
  private examine(job: JobRef, mayFence: boolean): JobCheck {
    const status = readExitStatus(job.jobDir);
    if (status !== undefined) return { kind: 'finished', status };
    const claim = readClaim(job.jobDir);
    if (claim === FENCED) return { kind: 'never-started', reason: 'fenced before it started' };
    const id = job.jobId ?? readJobId(job.jobDir);
    if (id === undefined) {
      // The job writes its id before it claims the folder, so without one it has not started:
      // the engine crashed while sbatch ran. Whatever sbatch did, fenced it will not run.
      if (!mayFence || claim !== undefined) return claim === undefined ? { kind: 'unclaimed' } : { kind: 'running' };
      return fenceJobFolder(job.jobDir) ? { kind: 'never-started', reason: 'its submission was interrupted' } : this.examine(job, false);
    }
    const watched = this.watched.get(id);
    if (watched) watched.askedAt = Date.now();
    else {
      this.watched.set(id, { jobDir: job.jobDir, started: false, askedAt: Date.now() });
      this.scheduleLook();
    }
    const queue = this.states.get(id);
    if (queue === undefined || queue.kind === 'active') {
      // Not looked at yet, or queued or running: the folder says whether the job has begun.
      if (typeof claim === 'number' || claim === ABANDONED) return { kind: 'running', jobId: id };
      return { kind: 'unclaimed' };
    }
    // Slurm says the job is over: the folder's word is final now (the status may have just landed).
    const late = readExitStatus(job.jobDir);
    if (late !== undefined) return { kind: 'finished', status: late };
    const how = queue.kind === 'ended' ? `ended ${queue.state}` : 'is no longer known to Slurm';
    if (claim !== undefined && claim !== CLAIMING) {
      // On a shared file system the status the job wrote may reach this machine a little after
      // Slurm says the job is over: only a later look that still finds none makes it lost, so a job
      // that succeeded is not run again.
      const firstSeen = this.endedWithoutStatus.get(id);
      if (firstSeen === undefined) this.endedWithoutStatus.set(id, this.looks);
      if (firstSeen === undefined || firstSeen === this.looks) return { kind: 'running', jobId: id };
      return { kind: 'lost', reason: `Slurm job ${id} ${how} without leaving an exit status` };
    }
    if (!mayFence) return { kind: 'unclaimed' };
    return fenceJobFolder(job.jobDir)
      ? { kind: 'never-started', reason: `Slurm job ${id} ${how} without starting` }
      : { kind: 'lost', reason: `Slurm job ${id} ${how} just as it started` };
  }

  /** Asks Slurm at once rather than at the next interval (the poll operation). */
  askNow(): void {
    if (this.looking || this.closed || this.watched.size === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.look();
  }

  private scheduleLook(): void {
    if (this.timer || this.looking || this.closed) return;
    this.timer = setTimeout(() => void this.look(), this.intervalMs);
    this.timer.unref();
  }

  /** One squeue call for every job being watched, then the engine hears of every change. */
  private async look(): Promise<void> {
    this.timer = undefined;
    this.looking = true;
    try {
      await this.lookOnce();
    } finally {
      this.looking = false;
    }
    if (this.watched.size > 0) this.scheduleLook();
  }

  private async lookOnce(): Promise<void> {
    const now = Date.now();
    for (const [id, w] of this.watched) {
      // A job found again after a restart is watched while the engine keeps asking about it.
      if (!w.events && now - w.askedAt > 3 * this.intervalMs) this.forget(id);
    }
    const answer = await this.queue.look([...this.watched.keys()]);
    if (this.closed) return;
    this.looks += 1;
    if ('error' in answer) {
      if (this.queueTrouble === undefined) this.logger.warn({ platform: this.platform, err: answer.error }, 'cannot ask Slurm about jobs; trying again');
      this.queueTrouble = answer.error;
    } else {
      if (this.queueTrouble !== undefined) this.logger.info({ platform: this.platform }, 'Slurm answers again');
      this.queueTrouble = undefined;
      for (const [id, state] of answer.states) this.states.set(id, state);
    }
    // Even without an answer: job folders still say which jobs began and ended.
    this.tellEngine();
  }

  private tellEngine(): void {
    for (const [id, w] of this.watched) {
      if (!w.events) continue;
      const check = this.examine({ jobDir: w.jobDir, jobId: id }, true);
      if (check.kind === 'unclaimed') continue;
      if ((check.kind === 'running' || check.kind === 'finished') && !w.started) {
        w.started = true;
        w.events.started();
      }
      if (check.kind === 'running') continue;
      this.forget(id);
      if (check.kind === 'finished') w.events.exited(check.status);
      else if (check.kind === 'lost') w.events.lost(check.reason ?? `Slurm job ${id} was lost`);
      else if (check.kind === 'never-started') w.events.neverStarted(check.reason ?? `Slurm job ${id} never started`);
    }
  }

  private forget(id: string): void {
    this.watched.delete(id);
    this.states.delete(id);
    this.endedWithoutStatus.delete(id);
  }
}

function readJobId(jobDir: string): string | undefined {
  try {
    return parseJobId(readFileSync(join(jobDir, JOB_ID_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}
