/**
 * The workflow engine of one owner: finds the owner's workflows, keeps their state in one
 * database, runs operations, and publishes change deltas. It knows nothing of users or HTTP.
 */
import { cpus } from 'node:os';
import { closeSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';
import { isValidWorkflowName } from '../config/names.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { fileSignature } from '../util/watch-file.js';
import { engineStateFiles } from '../storage/engine-database.js';
import { DeltaHub } from './deltas.js';
import { acquireEngineLock, type EngineLock } from './engine-lock.js';
import { isDiskFull } from './job-lifecycle.js';
import { Platforms } from './platforms.js';
import { parseCommand } from './operations.js';
import { unspawnedLookup } from './scheduling.js';
import { EngineStore, type WorkflowRow } from './store.js';
import type {
  CommandRequest, CommandResult, DeltaListener, EngineOptions, JobFile, JobLogRequest, JobLogResult, TaskView, WorkflowLogEntry, WorkflowView,
} from './types.js';
import { PublishedState, taskViews, workflowView } from './views.js';
import { WorkflowRuntime, type RuntimeContext } from './workflow.js';

/** Misuse of the engine's API by its caller (not bad input from a person): a bug to fix. */
export class EngineUsageError extends Error {
  constructor(message: string, readonly code: 'BAD_REQUEST' | 'NOT_FOUND' = 'BAD_REQUEST') {
    super(message);
    this.name = 'EngineUsageError';
  }
}

/** A change this soon after the last delta waits until then, so that it goes with the next changes (ms). */
const MIN_DELTA_GAP_MS = 15;
/**
 * Once changes have kept coming (a delta had to wait for the gap above), deltas go out at most
 * this often (ms) until a change comes after a quiet spell that long. Each delta costs every
 * subscriber a message (a write and a read receipt on the server and on the hub): with 200
 * subscribers following a busy run of 2,000 jobs on two cores, 40 ms against 15 sent 1,460 deltas
 * instead of 2,580, took a quarter less CPU in the server and the hub, ran 30 jobs/s instead of
 * 26, and kept job end -> last subscriber at p50 45-48 ms (52-54 ms) with the same p99 (106-128
 * ms against 117-121 ms). Waiting for three
 * such deltas in a row before spacing them out (so that one click's follow-on changes never wait
 * 40 ms) lost most of that: a busy run has quiet moments, and each one ended the spell (2,050
 * deltas, 20 jobs/s against 1,550 and 27 in the same hour). Changes a person makes one after
 * another go at once; the few that one click sets off come at most 40 ms apart.
 */
const BUSY_DELTA_GAP_MS = 40;
/** The most tasks one getTasks call (Query.tasks) answers: each is a view built on the engine's thread. */
export const MAX_TASKS_ASKED = 500;
/** The most of a job log one read returns (its end); GraphQL's cost budget counts on this bound. */
export const JOB_LOG_MAX_BYTES = 1 << 20;
/** Retrying after a full disk: the first wait, doubled each time up to the last (ms). */
const DISK_RETRY_FIRST_MS = 500;
const DISK_RETRY_MAX_MS = 10_000;
/** The write that shows a full disk has room again: a job folder's worth of files, roughly. */
const DISK_PROBE_BYTES = 64 * 1024;
const DEFAULT_STALL_TIMEOUT_SECONDS = 3600;

export class WorkflowEngine {
  private readonly ownerDir: string;
  private readonly workflowsDir: string;
  private readonly runsDir: string;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  private concurrency: number;
  private stallTimeoutMs: number;
  private readonly platforms: Platforms;
  private readonly onFatal: ((err: Error) => void) | undefined;
  private store: EngineStore | undefined;
  private lock: EngineLock | undefined;
  /** Set while the disk is full: when it began, and the wait before the next try. */
  private diskFullSince: string | undefined;
  private diskRetryMs = DISK_RETRY_FIRST_MS;
  private diskTimer: NodeJS.Timeout | undefined;
  /** After a retry, the first transaction that writes proves there is space again. */
  private failed = false;
  private readonly runtimes = new Map<string, WorkflowRuntime>();
  private readonly published = new Map<string, PublishedState>();
  private readonly fileStamps = new Map<string, string>();
  private readonly dirty = new Set<WorkflowRuntime>();
  private readonly hub: DeltaHub;
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  /** When the last delta went out (performance.now: a clock set back holds nothing up). */
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  /** Whether the last delta had to wait for its gap: changes keep coming (see BUSY_DELTA_GAP_MS). */
  private busySpell = false;
  /** Workflows whose published edges are held back (views.ts, EDGES_GAP_MS), and the flush that sends them. */
  private readonly owingEdges = new Set<WorkflowRuntime>();
  private edgesTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: EngineOptions) {
    this.ownerDir = options.ownerDir;
    this.workflowsDir = join(options.ownerDir, 'workflows');
    this.runsDir = join(options.ownerDir, 'runs');
    this.logger = options.logger ?? silentLogger();
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.concurrency = checkedConcurrency(options.concurrency);
    this.stallTimeoutMs = checkedStallTimeoutMs(options.stallTimeoutSeconds);
    this.onFatal = options.onFatal;
    this.platforms = new Platforms(options.platforms ?? {}, this.logger, options.slurmRefusal);
    this.hub = new DeltaHub(this.logger);
  }

  /** Calls to squeue and sacct so far, over every Slurm platform (for the benchmark). */
  get slurmQueueCalls(): { squeue: number; sacct: number } {
    const runners = this.platforms.slurmRunners();
    return { squeue: runners.reduce((n, r) => n + r.queue.squeueCalls, 0), sacct: runners.reduce((n, r) => n + r.queue.sacctCalls, 0) };
  }

  /** Deltas handed to subscribers so far. */
  get deltasDelivered(): number {
    return this.hub.delivered;
  }

  async start(): Promise<void> {
    if (this.store) throw new EngineUsageError('engine already started');
    mkdirSync(this.workflowsDir, { recursive: true });
    const files = engineStateFiles(this.ownerDir);
    mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    this.lock = acquireEngineLock(files.lock);
    try {
      this.store = new EngineStore(files.database);
    } catch (err) {
      this.lock.release();
      this.lock = undefined;
      throw err;
    }
    this.scan();
    this.attempt(() => {
      for (const rt of this.runtimes.values()) rt.recover();
    });
    try {
      this.watcher = watch(this.workflowsDir, () => this.scanSoon());
      this.watcher.on('error', (err) => {
        this.logger.warn({ err }, 'watching workflows failed; relying on polling');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.logger.warn({ err }, 'cannot watch workflows folder; relying on polling');
    }
    this.pollTimer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.scanTimer);
    clearTimeout(this.flushTimer as NodeJS.Timeout | undefined);
    clearImmediate(this.flushTimer as NodeJS.Immediate | undefined);
    clearTimeout(this.edgesTimer);
    clearTimeout(this.diskTimer);
    this.watcher?.close();
    for (const rt of this.runtimes.values()) rt.close();
    this.platforms.close();
    try {
      this.store?.close();
    } finally {
      this.lock?.release();
      this.lock = undefined;
    }
  }

  listWorkflows(): WorkflowView[] {
    return [...this.runtimes.keys()].sort().map((id) => this.getWorkflow(id)!);
  }

  getWorkflow(id: string): WorkflowView | undefined {
    const rt = this.runtimes.get(id);
    return rt ? workflowView(rt, this.requireStore()) : undefined;
  }

  /**
   * Some tasks of one workflow, each with every field (a page asks for them when a task is opened),
   * in the order asked, each once; at most MAX_TASKS_ASKED ids.
   */
  getTasks(workflow: string, ids: readonly string[]): TaskView[] {
    const rt = this.runtimes.get(workflow);
    if (!rt) throw new EngineUsageError(`no workflow "${workflow}"`, 'NOT_FOUND');
    const unique = [...new Set(ids)];
    if (unique.length > MAX_TASKS_ASKED) throw new EngineUsageError(`ask for at most ${MAX_TASKS_ASKED} tasks at a time, not ${unique.length}`);
    return taskViews(rt, this.requireStore(), unique);
  }

  hasWorkflow(id: string): boolean {
    return this.runtimes.has(id);
  }

  async command(op: string, request: CommandRequest): Promise<CommandResult[]> {
    if (typeof op !== 'string') throw new EngineUsageError('op must be a string');
    if (!request || !Array.isArray(request.workflows) || request.workflows.some((w) => typeof w !== 'string')) {
      throw new EngineUsageError('workflows must be an array of workflow ids');
    }
    if (typeof request.by !== 'string' || request.by === '') throw new EngineUsageError('by must name who asked');
    if (request.tasks !== undefined && (!Array.isArray(request.tasks) || request.tasks.some((t) => typeof t !== 'string'))) {
      throw new EngineUsageError('tasks must be an array of strings');
    }
    this.requireStore();
    const parsed = parseCommand(op, request.tasks, request.args);
    return request.workflows.map((workflow) => {
      const rt = this.runtimes.get(workflow);
      if (!rt) return { workflow, ok: false, message: `no workflow "${workflow}"` };
      let result: CommandResult = { workflow, ok: false, message: 'not done: the engine cannot write its state now (see the server log)' };
      const written = this.attempt(() => {
        const outcome = parsed.ok ? rt.apply(parsed.op, parsed.args, parsed.tasks, request.by) : parsed;
        const what = `${op}${request.tasks?.length ? ` ${request.tasks.join(' ')}` : ''}`;
        rt.log(outcome.ok ? 'INFO' : 'WARNING', 'operation', `${what}: ${outcome.ok ? '' : 'refused: '}${outcome.message}`, request.by);
        result = { workflow, ok: outcome.ok, message: outcome.message };
      });
      if (!written && this.diskFullSince) result.message = 'not done: the disk is full, so the workflow state cannot be written; try again when there is space';
      return result;
    });
  }

  /**
   * Takes new site settings while running (the hub pushes them when the site file changes): the
   * job width applies from the next scheduling pass, the stall timeout to stalls from now on.
   * Undefined means the default, as at start.
   */
  applySettings(settings: Pick<EngineOptions, 'concurrency' | 'stallTimeoutSeconds'>): void {
    const width = checkedConcurrency(settings.concurrency);
    const stallMs = checkedStallTimeoutMs(settings.stallTimeoutSeconds);
    const widthChanged = width !== this.concurrency;
    const stallChanged = stallMs !== this.stallTimeoutMs;
    this.concurrency = width;
    this.stallTimeoutMs = stallMs;
    for (const rt of this.runtimes.values()) {
      if (stallChanged) rt.stallTimeoutChanged();
      if (widthChanged) rt.requestPass();
    }
  }

  /**
   * Writes a copy of the database as of one moment to the snapshot file (engineStateFiles), for
   * `flotilla backup`: this engine's connection holds the database exclusively, so only it can
   * read it while it runs. Complete or absent: written beside and renamed into place.
   */
  async snapshot(): Promise<string> {
    const store = this.requireStore();
    const { snapshot } = engineStateFiles(this.ownerDir);
    const partial = `${snapshot}.partial`;
    rmSync(partial, { force: true });
    try {
      await store.db.backup(partial);
      renameSync(partial, snapshot);
    } finally {
      rmSync(partial, { force: true });
    }
    return snapshot;
  }

  workflowLog(workflow: string, limit = 100): WorkflowLogEntry[] {
    if (!this.runtimes.has(workflow)) throw new EngineUsageError(`no workflow "${workflow}"`, 'NOT_FOUND');
    return this.requireStore().events(workflow, Math.max(1, Math.min(10_000, Math.floor(limit))));
  }

  /**
   * Where one job's stdout or stderr is, and its size now: for reading its end (jobLog) or sending
   * it whole. Only files of tasks the workflow has, so no request names a path of its own.
   */
  jobFile(request: Omit<JobLogRequest, 'tail' | 'maxBytes'>): JobFile {
    const rt = this.runtimes.get(request.workflow);
    if (!rt) throw new EngineUsageError(`no workflow "${request.workflow}"`, 'NOT_FOUND');
    if (request.file !== 'job.out' && request.file !== 'job.err') throw new EngineUsageError('file must be job.out or job.err');
    const inst = rt.tasks.get(request.task);
    if (!inst) {
      const why = unspawnedLookup(rt)(request.task) ? `task ${request.task} has no job yet` : `no task "${request.task}" in workflow "${request.workflow}" (use cycle/name)`;
      throw new EngineUsageError(why, 'NOT_FOUND');
    }
    const submitNum = request.submitNum ?? inst.submitNum;
    if (!Number.isInteger(submitNum) || submitNum < 1 || submitNum > inst.submitNum) {
      throw new EngineUsageError(`task ${inst.id} has no job ${submitNum} (jobs 1 to ${inst.submitNum})`, 'NOT_FOUND');
    }
    const path = join(rt.jobDir(inst, submitNum), request.file);
    try {
      return { path, size: statSync(path).size, submitNum };
    } catch {
      throw new EngineUsageError(`no ${request.file} for ${inst.id} job ${submitNum}`, 'NOT_FOUND');
    }
  }

  jobLog(request: JobLogRequest): JobLogResult {
    const { path, size, submitNum } = this.jobFile(request);
    const length = Math.min(size, JOB_LOG_MAX_BYTES, Math.max(0, request.maxBytes ?? JOB_LOG_MAX_BYTES));
    const buffer = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    let content = buffer.toString('utf8');
    let truncated = length < size;
    if (request.tail !== undefined) {
      if (!Number.isInteger(request.tail) || request.tail < 1) throw new EngineUsageError('tail must be a whole number ≥ 1');
      const lines = content.split('\n');
      const trailing = lines.at(-1) === '' ? 1 : 0;
      const kept = lines.slice(-(request.tail + trailing));
      truncated ||= kept.length < lines.length;
      content = kept.join('\n');
    }
    // Relative to the owner's folder: readers other than the owner learn nothing of the filesystem.
    return { content, path: relative(this.ownerDir, path), size, shown: Buffer.byteLength(content), truncated, submitNum };
  }

  subscribe(workflows: string[] | null, listener: DeltaListener): () => void {
    this.requireStore();
    // What is published is then the whole truth: the first burst is the published picture, the
    // same object for everyone who subscribes until the workflow changes again; edges held back
    // go out now, to everyone, rather than reach the newcomer up to a second late.
    for (const rt of this.owingEdges) {
      this.published.get(rt.id)?.edgesDueNow();
      rt.summaryDirty = true;
      this.dirty.add(rt);
    }
    this.flush();
    const initial = [...this.published.entries()]
      .filter(([id]) => !workflows || workflows.includes(id))
      .map(([id, state]) => state.full(id));
    return this.hub.subscribe(workflows, initial, listener);
  }

  // ---------------------------------------------------------------- internals

  private requireStore(): EngineStore {
    if (!this.store || this.closed) throw new EngineUsageError('engine is not running (call start() first)');
    return this.store;
  }

  /**
   * Runs `fn` in one transaction. When the store refuses, nothing of it is kept: a full disk
   * makes the engine back off and retry, damage stops it; either way memory is put back to what
   * the store holds. Returns whether `fn`'s writes landed. `durable`: on the disk before this
   * returns (EngineStore.durableTransaction), for commits that let jobs start.
   */
  private attempt(fn: () => void, durable?: 'durable'): boolean {
    if (this.closed) return false;
    const store = this.requireStore();
    try {
      if (durable) store.durableTransaction(fn);
      else store.transaction(fn);
      return true;
    } catch (err) {
      this.storeFailed(err);
      return false;
    }
  }

  private storeFailed(err: unknown): void {
    const code = (err as { code?: unknown })?.code;
    if (isDiskFull(err)) this.diskFull(err);
    else if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      this.fatal(err as Error);
      return;
    }
    for (const rt of this.runtimes.values()) rt.reload();
    // Anything else is a bug in the engine: memory is consistent again, and the bug is loud.
    if (!isDiskFull(err)) throw err;
  }

  private diskFull(err: unknown): void {
    if (this.closed) return;
    if (this.diskTimer) return;
    if (!this.diskFullSince) this.diskFullSince = new Date().toISOString();
    else this.diskRetryMs = Math.min(DISK_RETRY_MAX_MS, this.diskRetryMs * 2);
    this.logger.warn({ err: (err as Error).message, file: this.store?.file, retryInMs: this.diskRetryMs },
      'disk full: the engine cannot write its state; it submits nothing new and tries again');
    this.diskTimer = setTimeout(() => {
      this.diskTimer = undefined;
      if (this.closed) return;
      const stillFull = this.probeDisk();
      if (stillFull) this.diskFull(stillFull);
      else this.diskSpaceBack();
    }, this.diskRetryMs);
    this.diskTimer.unref();
  }

  /**
   * Whether the owner's disk takes a write again: a probe file of DISK_PROBE_BYTES beside the
   * engine's database, written and removed. A probe, not the next transaction, decides: a small
   * row may land in space SQLite already holds while job folders still cannot be made, and a pass
   * with nothing to write would prove nothing. Undefined when there is room; else why not.
   */
  private probeDisk(): Error | undefined {
    const probe = join(engineStateFiles(this.ownerDir).dir, 'disk-probe');
    try {
      writeFileSync(probe, Buffer.alloc(DISK_PROBE_BYTES));
      return undefined;
    } catch (err) {
      return err as Error;
    } finally {
      rmSync(probe, { force: true });
    }
  }

  private diskSpaceBack(): void {
    this.logger.info({ fullSince: this.diskFullSince }, 'disk space is back: the engine writes and submits again');
    this.diskFullSince = undefined;
    this.diskRetryMs = DISK_RETRY_FIRST_MS;
    for (const rt of this.runtimes.values()) rt.requestPass();
  }

  /** The store is damaged or unreadable: say which file and what to do, close, and let the server exit. */
  private fatal(cause: Error): void {
    if (this.failed) return;
    this.failed = true;
    const file = this.store?.file ?? join(this.ownerDir, '.flotilla', 'engine.sqlite');
    const code = (cause as { code?: string }).code ?? 'error';
    const err = new Error(`the workflow engine's database ${file} failed at run time (${code}: ${cause.message}); ` +
      'the workflow server stops. Restore the file from a backup, or move it aside to start this owner\'s workflows afresh');
    this.logger.error({ err: err.message }, 'engine database failed');
    void this.close().catch(() => undefined).finally(() => this.onFatal?.(err));
  }

  private runtimeContext(): RuntimeContext {
    // Getters: settings the hub pushes later reach every workflow.
    const engine = this;
    return {
      store: this.requireStore(),
      platforms: this.platforms,
      get concurrency() {
        return engine.concurrency;
      },
      get stallTimeoutMs() {
        return engine.stallTimeoutMs;
      },
      logger: this.logger,
      attempt: (fn, durable) => this.attempt(fn, durable),
      changed: (rt) => this.changed(rt),
      canSubmit: () => this.diskFullSince === undefined,
      diskFull: (err) => this.diskFull(err),
    };
  }

  /**
   * A change after a quiet spell goes out as soon as the turn of the event loop that made it is
   * over: everything one turn changes (a pass that submits many jobs, a burst of job ends read
   * together) is one delta per workflow. While changes keep coming, deltas are spaced out (the
   * gaps above), each carrying all that came meanwhile.
   */
  private changed(rt: WorkflowRuntime): void {
    this.dirty.add(rt);
    if (this.flushTimer || this.closed) return;
    const wait = this.lastFlushAt + (this.busySpell ? BUSY_DELTA_GAP_MS : MIN_DELTA_GAP_MS) - performance.now();
    this.busySpell = wait > 0;
    this.flushTimer = wait > 0 ? setTimeout(() => this.flush(), wait) : setImmediate(() => this.flush());
  }

  private flush(): void {
    clearTimeout(this.flushTimer as NodeJS.Timeout | undefined);
    clearImmediate(this.flushTimer as NodeJS.Immediate | undefined);
    this.flushTimer = undefined;
    if (this.closed || this.dirty.size === 0) return;
    this.lastFlushAt = performance.now();
    const store = this.requireStore();
    try {
      for (const rt of this.dirty) {
        if (this.runtimes.get(rt.id) !== rt) {
          this.owingEdges.delete(rt);
          continue;
        }
        let state = this.published.get(rt.id);
        if (!state) this.published.set(rt.id, (state = new PublishedState()));
        const delta = state.next(rt, store);
        if (delta) this.hub.publish(delta);
        if (state.edgesDueAt === undefined) this.owingEdges.delete(rt);
        else this.oweEdges(rt, state.edgesDueAt);
      }
    } catch (err) {
      this.storeFailed(err);
    } finally {
      this.dirty.clear();
    }
  }

  /** Sends `rt`'s held-back edges once they are due, whether or not anything else changes. */
  private oweEdges(rt: WorkflowRuntime, dueAt: number): void {
    this.owingEdges.add(rt);
    if (this.edgesTimer || this.closed) return;
    this.edgesTimer = setTimeout(() => {
      this.edgesTimer = undefined;
      for (const owing of this.owingEdges) {
        owing.summaryDirty = true;
        this.changed(owing);
      }
    }, Math.max(0, dueAt - performance.now()));
    this.edgesTimer.unref();
  }

  private poll(): void {
    if (this.closed) return;
    try {
      this.scan();
    } catch (err) {
      this.storeFailed(err);
      return;
    }
    this.attempt(() => {
      for (const rt of this.runtimes.values()) rt.pollAdopted();
    });
  }

  private scanSoon(): void {
    if (this.scanTimer || this.closed) return;
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      if (this.closed) return;
      try {
        this.scan();
      } catch (err) {
        this.storeFailed(err);
      }
    }, 50);
  }

  /** Notices new and removed workflow folders and edited flow.yaml files. */
  private scan(): void {
    let names: Set<string>;
    try {
      names = new Set(readdirSync(this.workflowsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && isValidWorkflowName(d.name))
        .map((d) => d.name));
    } catch (err) {
      this.logger.warn({ err }, 'cannot read workflows folder');
      return;
    }
    // Saved rows matter only for folders seen for the first time: read them only then, not every poll.
    let saved: Map<string, WorkflowRow> | undefined;
    for (const name of names) {
      const flowFile = join(this.workflowsDir, name, 'flow.yaml');
      const stamp = fileSignature(flowFile);
      const rt = this.runtimes.get(name);
      if (!rt) {
        saved ??= new Map(this.requireStore().workflows().map((row) => [row.name, row]));
        this.runtimes.set(name, new WorkflowRuntime(name, flowFile, join(this.runsDir, name), this.runtimeContext(), saved.get(name)));
        this.fileStamps.set(name, stamp);
        this.changed(this.runtimes.get(name)!);
      } else if (this.fileStamps.get(name) !== stamp) {
        this.fileStamps.set(name, stamp);
        rt.refreshFile();
      }
    }
    for (const [name, rt] of this.runtimes) {
      // A running workflow whose folder vanished keeps going on the definition it has.
      if (names.has(name) || rt.status !== 'stopped') continue;
      rt.close();
      this.runtimes.delete(name);
      this.published.delete(name);
      this.fileStamps.delete(name);
      this.hub.publish({ workflow: name, pruned: { workflow: true } });
    }
  }
}

function checkedConcurrency(concurrency: number | undefined): number {
  const width = concurrency ?? cpus().length * 2;
  if (!Number.isInteger(width) || width < 1) throw new EngineUsageError('concurrency must be a whole number ≥ 1');
  return width;
}

function checkedStallTimeoutMs(seconds: number | undefined): number {
  const stall = seconds ?? DEFAULT_STALL_TIMEOUT_SECONDS;
  if (!Number.isFinite(stall) || stall < 0) throw new EngineUsageError('stallTimeoutSeconds must be a number ≥ 0 (0: never)');
  return stall * 1000;
}
