/**
 * One workflow at run time: its task instances and status, the one transition through which
 * every change of an instance goes, and the workflow's event log. Memory is the working copy;
 * every change is written to the store inside the caller's transaction (see WorkflowEngine)
 * before anyone can see it, and when a transaction fails the engine reloads memory from the store.
 *
 * What changes happen lives elsewhere: commands.ts (operations), scheduling.ts (the pass that
 * decides what to submit), job-lifecycle.ts (submitting, finishing, recovering jobs).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../util/logger.js';
import { applyCommand, type Outcome } from './commands.js';
import { parseFlow, readFlowSource, type FlowDefinition, type FlowResult } from './flow.js';
import { launchJob, pollAdoptedJobs, recoverJobs } from './job-lifecycle.js';
import type { JobRef, JobRunner } from './job-runner.js';
import {
  ACTIVE_STATES, TRANSIENT_FIELDS, checkTransition, fromRow, taskId, toRow, type TaskChange, type TaskInstance,
} from './instances.js';
import { jobDirFor } from './local-runner.js';
import type { EngineOperation } from './operations.js';
import type { Platforms } from './platforms.js';
import { schedulingPass } from './scheduling.js';
import type { BroadcastRow, EngineStore, WorkflowRow } from './store.js';
import { LOG_LEVELS, type LastRun, type LogLevel, type TaskState, type WorkflowStatus } from './types.js';

export interface RuntimeContext {
  store: EngineStore;
  /** Where jobs run: a job runner per platform. */
  platforms: Platforms;
  concurrency: number;
  /** How long a stalled workflow waits for someone to act before it stops; 0 = for ever. */
  stallTimeoutMs: number;
  logger: Logger;
  /**
   * Runs `fn` in one store transaction and then lets the engine publish what changed. False when
   * the transaction failed (the engine has handled it: memory is reloaded from the store).
   * `durable`: the commit is on the disk before this returns (EngineStore.durableTransaction).
   */
  attempt(fn: () => void, durable?: 'durable'): boolean;
  changed(runtime: WorkflowRuntime): void;
  /** False while the disk is full: nothing new is submitted until the engine finds space again. */
  canSubmit(): boolean;
  /** A file write failed for lack of space: the engine backs off and retries. */
  diskFull(err: unknown): void;
}

export class WorkflowRuntime {
  file: FlowResult;
  /** The definition in use: the file's for a stopped workflow, the played one while it runs. */
  flow: FlowDefinition | null;
  row: WorkflowRow;
  readonly tasks = new Map<string, TaskInstance>();
  broadcasts: BroadcastRow[] = [];
  readonly xtriggers = new Set<string>();
  /** Job endings seen but not yet written (the store refused, e.g. a full disk), by `id#submitNum`. */
  readonly unrecordedExits = new Map<string, number>();
  /** When a kill was last sent to each job being killed (`id#submitNum`; performance.now()). */
  readonly killsSent = new Map<string, number>();
  /** Ids whose views may have changed, and ids that are gone, since the engine last looked. */
  readonly dirtyTasks = new Set<string>();
  readonly prunedTasks = new Set<string>();
  summaryDirty = true;
  /** Something every view depends on changed (hold point, broadcasts, xtriggers): views of instances not made yet too. */
  allViewsDirty = true;
  private passQueued = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** When the workflow became stalled (ms since the epoch), so that a restart does not reset the stall timeout. */
  private stalledSince: number | undefined;
  private closed = false;
  /** The text readFile parsed last (its digest) and what it gave. */
  private parsed: { digest: string; result: FlowResult } | undefined;

  /** How messages name the run directory: relative to the owner's folder, because access users
   * read them too and need not learn where the site keeps its data. */
  get runLabel(): string {
    return `runs/${this.id}`;
  }

  get flowLabel(): string {
    return `workflows/${this.id}/flow.yaml`;
  }

  constructor(
    readonly id: string,
    readonly flowFile: string,
    readonly runDir: string,
    readonly ctx: RuntimeContext,
    saved: WorkflowRow | undefined,
  ) {
    this.file = this.readFile();
    this.row = saved ?? {
      name: id, status: 'stopped', hold_point: null, verbosity: 'INFO', graph_window_extent: 1,
      last_activity: new Date().toISOString(), flow_json: null, last_run: null, spawned_through: 0,
    };
    this.flow = null;
    this.loadFromStore(saved);
  }

  get status(): WorkflowStatus {
    return this.row.status;
  }

  get lastRun(): LastRun | null {
    return this.row.last_run ? (JSON.parse(this.row.last_run) as LastRun) : null;
  }

  /**
   * Replaces memory with what the store holds. Jobs that were active become adopted: their
   * endings may have happened while the store could not record them, so polling finds them.
   */
  reload(): void {
    const saved = this.ctx.store.workflows().find((w) => w.name === this.id);
    if (saved) this.row = saved;
    const before = new Map(this.tasks);
    for (const id of this.tasks.keys()) this.prunedTasks.add(id);
    this.tasks.clear();
    this.xtriggers.clear();
    this.loadFromStore(saved);
    for (const fresh of this.tasks.values()) {
      this.prunedTasks.delete(fresh.id);
      // An instance that is still there keeps its identity, so that its running job's events (an
      // exit the store could not record yet above all) still reach it: only its fields are reread.
      const kept = before.get(fresh.id);
      const inst = kept ? Object.assign(kept, fresh, { messages: undefined }) : fresh;
      this.tasks.set(inst.id, inst);
      if (ACTIVE_STATES.has(inst.state)) inst.adopted = true;
    }
    this.markAllTasks();
    this.armStallTimer();
  }

  private loadFromStore(saved: WorkflowRow | undefined): void {
    for (const row of this.ctx.store.tasks(this.id)) this.tasks.set(taskId(row.cycle, row.name), fromRow(row));
    // A run's jobs are judged by the definition it was played with, also those a `stop now` left
    // running (takeFileIfIdle takes the file once they are over).
    const running = this.row.status !== 'stopped' || this.activeTasks().length > 0;
    const played = saved && running && this.row.flow_json ? deserializeFlow(this.row.flow_json) : null;
    this.flow = played ?? (this.file.ok ? this.file.flow : null);
    this.broadcasts = this.ctx.store.broadcasts(this.id);
    for (const x of this.ctx.store.xtriggers(this.id)) this.xtriggers.add(`${x.name}@${x.cycle}`);
  }

  /** After a restart: find every job that was active again, and carry on scheduling. */
  recover(): void {
    if (this.status === 'stalled') {
      const last = this.ctx.store.lastStatus(this.id);
      const since = last?.text.startsWith('stalled') ? Date.parse(last.at) : Number.NaN;
      this.stalledSince = Number.isFinite(since) ? since : Date.now();
    }
    recoverJobs(this);
    this.armStallTimer();
    this.touch();
    this.requestPass();
  }

  /** Re-checks jobs known only by their folder (adopted after a restart); cheap file and /proc reads. */
  pollAdopted(): void {
    pollAdoptedJobs(this);
  }

  /** The file on disk changed: a stopped workflow takes the new definition at once. */
  refreshFile(): void {
    this.file = this.readFile();
    this.takeFileIfIdle();
    this.touch();
  }

  /**
   * A stopped workflow takes flow.yaml's definition once no job of its run is left: until then the
   * run's jobs are judged (retries) by the definition they were played with.
   */
  takeFileIfIdle(): void {
    if (this.status !== 'stopped' || !this.file.ok || this.flow === this.file.flow || this.activeTasks().length > 0) return;
    this.flow = this.file.flow;
    this.markAllTasks();
  }

  /**
   * flow.yaml as it is now, checked against the site's platforms (fixed for the server's life).
   * Text already parsed gives the same result again without parsing: the YAML parser allocates
   * about 170 bytes per byte of text, and play and reload read a file the scan has just read.
   */
  readFile(): FlowResult {
    const read = readFlowSource(this.flowFile, this.flowLabel);
    if (!read.ok) return read;
    const digest = createHash('sha256').update(read.source).digest('base64');
    if (this.parsed?.digest !== digest) this.parsed = { digest, result: parseFlow(read.source, this.flowLabel, this.ctx.platforms.names) };
    return this.parsed.result;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.stallTimer);
  }

  apply(op: EngineOperation, args: Record<string, unknown>, selectors: string[], by: string): Outcome {
    return applyCommand(this, op, args, selectors, by);
  }

  /**
   * The one way an instance changes (a new one is added by its first change). The state change,
   * if any, must be one the engine makes (instances.ts); persisted fields go to the store.
   */
  change(inst: TaskInstance, patch: TaskChange): void {
    if (patch.state !== undefined) checkTransition(inst, patch.state);
    const isNew = this.tasks.get(inst.id) !== inst;
    Object.assign(inst, patch);
    this.tasks.set(inst.id, inst);
    this.dirtyTasks.add(inst.id);
    if (isNew || Object.keys(patch).some((k) => !TRANSIENT_FIELDS.has(k as keyof TaskChange))) {
      this.ctx.store.saveTask(toRow(inst));
      this.touch();
    } else this.ctx.changed(this);
  }

  /** Forgets an instance (reload of a definition without its task, clean). */
  drop(inst: TaskInstance): void {
    this.tasks.delete(inst.id);
    this.ctx.store.deleteTask(this.id, inst.cycle, inst.name);
    this.prunedTasks.add(inst.id);
  }

  // ---------------------------------------------------------------- scheduling

  requestPass(): void {
    if (this.passQueued || this.closed) return;
    this.passQueued = true;
    setImmediate(() => {
      this.passQueued = false;
      if (this.closed) return;
      // Submissions are committed first; only then do their jobs start (exactly once: see job-lifecycle.ts).
      let submissions: TaskInstance[] = [];
      if (!this.ctx.attempt(() => (submissions = schedulingPass(this)), 'durable')) return;
      for (const inst of submissions) launchJob(this, inst, inst.submitNum);
    });
  }

  xtriggerSatisfied(name: string, cycle: number): boolean {
    return this.xtriggers.has(`${name}@0`) || this.xtriggers.has(`${name}@${cycle}`);
  }

  activeTasks(): TaskInstance[] {
    return [...this.tasks.values()].filter((i) => ACTIVE_STATES.has(i.state));
  }

  jobDir(inst: TaskInstance, submitNum = inst.submitNum): string {
    return jobDirFor(this.runDir, inst.cycle, inst.name, submitNum);
  }

  /** The latest job of `inst`, as its runner knows it. */
  jobRef(inst: TaskInstance): JobRef {
    return { jobDir: this.jobDir(inst), ...(inst.pid !== null ? { pid: inst.pid } : {}), ...(inst.jobId !== null ? { jobId: inst.jobId } : {}) };
  }

  /** The runner of the latest job of `inst`; undefined when its platform has left the site's configuration. */
  runnerOf(inst: TaskInstance): JobRunner | undefined {
    return this.ctx.platforms.runner(inst.platform);
  }

  /** True while `inst` is still this workflow's instance and `submitNum` its latest job. */
  isCurrent(inst: TaskInstance, submitNum: number): boolean {
    return !this.closed && this.tasks.get(inst.id) === inst && inst.submitNum === submitNum;
  }

  // ---------------------------------------------------------------- status, log

  setStatus(status: WorkflowStatus, text: string): Outcome {
    if (status !== this.row.status) this.stalledSince = status === 'stalled' ? Date.now() : undefined;
    this.row.status = status;
    // The folder scan keeps `file` current (refreshFile), while the workflow ran too.
    if (status === 'stopped') this.takeFileIfIdle();
    this.saveRow();
    this.markAllTasks();
    this.log(status === 'stalled' ? 'WARNING' : 'INFO', 'status', text);
    this.armStallTimer();
    this.requestPass();
    return { ok: true, message: text };
  }

  /** Stops the workflow and records how its run ended, so that "stopped" says what happened. */
  endRun(outcome: LastRun['outcome'], text: string): Outcome {
    const counts = new Map<TaskState, number>();
    for (const inst of this.tasks.values()) counts.set(inst.state, (counts.get(inst.state) ?? 0) + 1);
    const failed = (counts.get('failed') ?? 0) + (counts.get('submit-failed') ?? 0);
    const succeeded = counts.get('succeeded') ?? 0;
    const parts = [`${succeeded} succeeded`];
    if (failed) parts.push(`${failed} failed`);
    const waiting = counts.get('waiting') ?? 0;
    if (waiting) parts.push(`${waiting} never ran`);
    const how = { complete: 'completed', 'stall-timeout': 'stopped after stalling', stopped: 'stopped' }[outcome];
    const lastRun: LastRun = { outcome, at: new Date().toISOString(), succeeded, failed, summary: `${how}: ${parts.join(', ')}` };
    this.row.last_run = JSON.stringify(lastRun);
    return this.setStatus('stopped', text);
  }

  /** The site's stall timeout changed: a workflow stalled now takes it, counted from when it stalled. */
  stallTimeoutChanged(): void {
    this.armStallTimer();
  }

  /** A stalled workflow stops after the site's stall timeout unless someone acts first. */
  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.status !== 'stalled' || this.closed || this.ctx.stallTimeoutMs <= 0) return;
    const stalledFor = Date.now() - (this.stalledSince ?? Date.now());
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.closed || this.status !== 'stalled') return;
      this.ctx.attempt(() => {
        this.endRun('stall-timeout', `stopped: stalled for ${this.ctx.stallTimeoutMs / 1000} s (the site's stall timeout) with no one acting`);
      });
    }, Math.max(0, this.ctx.stallTimeoutMs - stalledFor));
    this.stallTimer.unref();
  }

  markAllTasks(): void {
    for (const id of this.tasks.keys()) this.dirtyTasks.add(id);
    this.allViewsDirty = true;
    this.touch();
  }

  saveRow(): void {
    this.row.last_activity = new Date().toISOString();
    this.ctx.store.saveWorkflow(this.row);
    this.summaryDirty = true;
    this.ctx.changed(this);
  }

  touch(): void {
    this.row.last_activity = new Date().toISOString();
    this.summaryDirty = true;
    this.ctx.changed(this);
  }

  /** Records an event if the workflow's verbosity lets it through (operations always are). */
  log(level: LogLevel, kind: string, text: string, by: string | null = null): void {
    if (kind !== 'operation' && LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(this.row.verbosity)) return;
    this.ctx.store.addEvent(this.id, { at: new Date().toISOString(), level, kind, by, text });
  }
}

export function formatError(e: { message: string; file: string; line?: number; column?: number }): string {
  return `${e.file}${e.line !== undefined ? `:${e.line}:${e.column ?? 1}` : ''}: ${e.message}`;
}

export function serializeFlow(flow: FlowDefinition): string {
  return JSON.stringify({ ...flow, tasks: [...flow.tasks.values()] });
}

function deserializeFlow(json: string): FlowDefinition {
  const raw = JSON.parse(json) as Omit<FlowDefinition, 'tasks'> & { tasks: FlowDefinition['tasks'] extends Map<string, infer T> ? T[] : never };
  return { ...raw, tasks: new Map(raw.tasks.map((t) => [t.name, t])) };
}
