/**
 * One workflow at run time: its task instances, the scheduling pass that submits what is ready,
 * job endings, and every operation. Memory is the working copy; every change is written to the
 * store inside the caller's transaction (see WorkflowEngine) before anyone can see it.
 */
import { rmSync } from 'node:fs';
import type { Logger } from '../util/logger.js';
import { readFlowFile, type FlowDefinition, type FlowResult, type TaskDefinition } from './flow.js';
import {
  ACTIVE_STATES, FINAL_STATES, addOutputs, effectiveSettings, fromRow, newInstance, outputsOf, taskId, toRow,
  type TaskInstance,
} from './instances.js';
import { ensureWrapper, isJobAlive, jobDirFor, killJob, launchJob, readJobPid, readJobStatus } from './jobs.js';
import type { EngineOperation, OperationArgs } from './operations.js';
import { parseSelector, selectorMatches } from './selectors.js';
import type { BroadcastRow, EngineStore, WorkflowRow } from './store.js';
import { LOG_LEVELS, type LogLevel, type WorkflowStatus } from './types.js';

export interface RuntimeContext {
  store: EngineStore;
  concurrency: number;
  logger: Logger;
  /** Runs `fn` in one store transaction and then lets the engine publish what changed. */
  atomically<T>(fn: () => T): T;
  changed(runtime: WorkflowRuntime): void;
}

export type Outcome = { ok: boolean; message: string };

const refuse = (message: string): Outcome => ({ ok: false, message });
const done = (message: string): Outcome => ({ ok: true, message });
/** The check of operations that only apply to instances with a job. */
const notActive = (inst: TaskInstance): string | null => (ACTIVE_STATES.has(inst.state) ? null : `is not active (${inst.state})`);

export class WorkflowRuntime {
  file: FlowResult;
  /** The definition in use: the file's for a stopped workflow, the played one while it runs. */
  flow: FlowDefinition | null;
  row: WorkflowRow;
  readonly tasks = new Map<string, TaskInstance>();
  broadcasts: BroadcastRow[];
  private readonly xtriggers = new Set<string>();
  /** Ids whose views may have changed, and ids that are gone, since the engine last looked. */
  readonly dirtyTasks = new Set<string>();
  readonly prunedTasks = new Set<string>();
  summaryDirty = true;
  private passQueued = false;
  private closed = false;

  /** How messages name the run directory: relative to the owner's folder, because access users
   * read them too and need not learn where the site keeps its data. */
  private get runLabel(): string {
    return `runs/${this.id}`;
  }

  private get flowLabel(): string {
    return `workflows/${this.id}/flow.yaml`;
  }

  constructor(
    readonly id: string,
    readonly flowFile: string,
    readonly runDir: string,
    private readonly ctx: RuntimeContext,
    saved: WorkflowRow | undefined,
  ) {
    this.file = readFlowFile(flowFile, this.flowLabel);
    this.row = saved ?? {
      name: id, status: 'stopped', hold_point: null, verbosity: 'INFO', graph_window_extent: 1,
      last_activity: new Date().toISOString(), flow_json: null,
    };
    const played = this.row.status !== 'stopped' && this.row.flow_json ? deserializeFlow(this.row.flow_json) : null;
    this.flow = played ?? (this.file.ok ? this.file.flow : null);
    for (const row of ctx.store.tasks(id)) this.tasks.set(taskId(row.cycle, row.name), fromRow(row));
    this.broadcasts = ctx.store.broadcasts(id);
    for (const x of ctx.store.xtriggers(id)) this.xtriggers.add(`${x.name}@${x.cycle}`);
  }

  get status(): WorkflowStatus {
    return this.row.status;
  }

  /** After a restart: find every job that was active again, and carry on scheduling. */
  recover(): void {
    for (const inst of this.tasks.values()) {
      if (!ACTIVE_STATES.has(inst.state)) continue;
      const jobDir = this.jobDir(inst);
      const pid = inst.pid ?? readJobPid(jobDir);
      const status = readJobStatus(jobDir);
      if (status !== undefined) this.finish(inst, inst.submit_num, status);
      else if (pid !== undefined && isJobAlive(pid, jobDir)) {
        inst.pid = pid;
        inst.adopted = true;
        // The wrapper writes job.pid just before it runs the script: the job has started.
        if (inst.state !== 'running' && readJobPid(jobDir) !== undefined) {
          inst.state = 'running';
          inst.started_at ??= new Date().toISOString();
          addOutputs(inst, ['submitted', 'started']);
        }
        this.save(inst);
      } else if (inst.state === 'preparing' && pid === undefined) {
        // Never started: nothing ran, so it simply goes back to waiting.
        inst.state = 'waiting';
        inst.submit_num = Math.max(0, inst.submit_num - 1);
        this.save(inst);
        this.log('WARNING', 'job', `${inst.id}: submission interrupted by a restart; will submit again`);
      } else this.lose(inst);
    }
    this.touch();
    this.requestPass();
  }

  /** Re-checks jobs known only by pid (adopted after a restart); cheap file and /proc reads. */
  pollAdopted(): void {
    for (const inst of this.tasks.values()) if (inst.adopted && ACTIVE_STATES.has(inst.state)) this.checkJob(inst);
  }

  /** The file on disk changed: a stopped workflow takes the new definition at once. */
  refreshFile(): void {
    this.file = readFlowFile(this.flowFile, this.flowLabel);
    if (this.status === 'stopped' && this.file.ok) this.flow = this.file.flow;
    this.touch();
  }

  close(): void {
    this.closed = true;
  }

  // ---------------------------------------------------------------- operations

  apply(op: EngineOperation, args: Record<string, unknown>, selectors: string[], by: string): Outcome {
    switch (op) {
      case 'play': return this.play();
      case 'pause': return this.status === 'running' ? this.setStatus('paused', 'paused') : refuse(`cannot pause: workflow is ${this.status}`);
      case 'resume': return this.status === 'paused' ? this.setStatus('running', 'resumed') : refuse(`cannot resume: workflow is ${this.status}`);
      case 'stop': return this.stop((args as OperationArgs<'stop'>).mode);
      case 'hold': return this.forTasks(selectors, true, (i) => (FINAL_STATES.has(i.state) ? 'has finished' : i.held ? 'is already held' : null), (i) => (i.held = 1), 'held');
      case 'release': return this.forTasks(selectors, false, (i) => (i.held ? null : 'is not held'), (i) => (i.held = 0), 'released');
      case 'trigger': return this.trigger(selectors);
      case 'kill': return this.kill(selectors);
      case 'poll': return this.poll(selectors);
      case 'remove': return this.forTasks(selectors, true, (i) => (ACTIVE_STATES.has(i.state) ? 'has an active job (kill it first)' : i.state === 'expired' ? 'is already removed' : null), (i) => Object.assign(i, { state: 'expired', queued: false, triggered: 0 }), 'removed');
      case 'set_outputs': return this.setOutputs(selectors, (args as OperationArgs<'set_outputs'>).outputs);
      case 'message': return this.message(selectors, args as OperationArgs<'message'>, by);
      case 'set_hold_point': return this.setHoldPoint((args as OperationArgs<'set_hold_point'>).cyclePoint);
      case 'release_hold_point': return this.releaseHoldPoint();
      case 'reload': return this.reload();
      case 'clean': return this.clean();
      case 'broadcast': return this.broadcast(args as OperationArgs<'broadcast'>, by);
      case 'ext_trigger': return this.extTrigger(args as OperationArgs<'ext_trigger'>);
      case 'set_verbosity': {
        this.row.verbosity = (args as OperationArgs<'set_verbosity'>).level;
        this.saveRow();
        return done(`verbosity set to ${this.row.verbosity}`);
      }
      case 'set_graph_window_extent': {
        this.row.graph_window_extent = (args as OperationArgs<'set_graph_window_extent'>).extent;
        this.saveRow();
        return done(`graph window extent set to ${this.row.graph_window_extent}`);
      }
    }
  }

  private play(): Outcome {
    if (this.status === 'paused') return this.setStatus('running', 'resumed');
    if (this.status !== 'stopped') return refuse(`cannot play: workflow is ${this.status}`);
    this.file = readFlowFile(this.flowFile, this.flowLabel);
    if (!this.file.ok) return refuse(`cannot play: ${formatError(this.file.error)}`);
    try {
      ensureWrapper(this.runDir);
    } catch (err) {
      return refuse(`cannot play: cannot create run directory ${this.runLabel}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    this.flow = this.file.flow;
    this.row.flow_json = serializeFlow(this.flow);
    return this.setStatus('running', `started, run directory ${this.runLabel}`);
  }

  private stop(mode: 'clean' | 'kill' | 'now'): Outcome {
    if (this.status === 'stopped') return refuse('cannot stop: workflow is already stopped');
    const active = this.activeTasks();
    if (mode === 'now' || active.length === 0) {
      return this.setStatus('stopped', mode === 'now' && active.length ? `stopped now, leaving ${active.length} job(s) running` : 'stopped');
    }
    if (mode === 'kill') for (const inst of active) this.killInstance(inst);
    for (const inst of this.tasks.values()) this.setQueued(inst, false);
    return this.setStatus('stopping', mode === 'kill' ? `stopping: killing ${active.length} job(s)` : `stopping: waiting for ${active.length} job(s)`);
  }

  private trigger(selectors: string[]): Outcome {
    if (this.status === 'stopped' || this.status === 'stopping') return refuse(`cannot trigger: workflow is ${this.status}; play it first`);
    return this.forTasks(selectors, true, (i) => (ACTIVE_STATES.has(i.state) ? 'is already active' : null), (i) => Object.assign(i, { triggered: 1, state: 'waiting' }), 'triggered');
  }

  private kill(selectors: string[]): Outcome {
    return this.forTasks(selectors, false, notActive, (i) => this.killInstance(i), 'killing');
  }

  private poll(selectors: string[]): Outcome {
    if (selectors.length === 0) {
      const active = this.activeTasks();
      for (const inst of active) this.checkJob(inst);
      return done(`polled ${active.length} job(s)`);
    }
    return this.forTasks(selectors, false, notActive, (i) => this.checkJob(i), 'polled');
  }

  private setOutputs(selectors: string[], outputs: string[]): Outcome {
    return this.forTasks(selectors, true, (i) => (ACTIVE_STATES.has(i.state) ? 'has an active job' : null), (inst) => {
      addOutputs(inst, outputs);
      if (outputs.includes('succeeded')) inst.state = 'succeeded';
      else if (outputs.includes('failed')) {
        // Marked failed: an earlier success no longer satisfies dependants.
        inst.state = 'failed';
        inst.outputs = JSON.stringify(outputsOf(inst).filter((o) => o !== 'succeeded'));
      }
      inst.queued = false;
      inst.triggered = 0;
    }, `outputs ${outputs.join(', ')} set on`);
  }

  private message(selectors: string[], args: OperationArgs<'message'>, by: string): Outcome {
    const at = new Date().toISOString();
    const result = this.forTasks(selectors, false, () => null, (inst) => {
      this.ctx.store.addMessage(this.id, inst.cycle, inst.name, { at, severity: args.severity, text: args.text, by });
      inst.messages = undefined;
    }, 'message added to');
    if (result.ok) this.log(args.severity === 'CRITICAL' ? 'CRITICAL' : args.severity, 'message', `${selectors.join(' ')}: ${args.text}`, by);
    return result;
  }

  private setHoldPoint(point: number): Outcome {
    this.row.hold_point = point;
    this.markAllTasks();
    this.saveRow();
    this.requestPass();
    return done(`hold point set to ${point}: tasks after cycle point ${point} will not be submitted`);
  }

  private releaseHoldPoint(): Outcome {
    const held = [...this.tasks.values()].filter((i) => i.held);
    if (this.row.hold_point === null && held.length === 0) return refuse('nothing to release: no hold point and no held tasks');
    this.row.hold_point = null;
    for (const inst of held) {
      inst.held = 0;
      this.save(inst);
    }
    this.markAllTasks();
    this.saveRow();
    this.requestPass();
    return done(`hold point released${held.length ? ` and ${held.length} task(s) released` : ''}`);
  }

  private reload(): Outcome {
    const file = readFlowFile(this.flowFile, this.flowLabel);
    if (!file.ok) return refuse(`cannot reload: ${formatError(file.error)}`);
    this.file = file;
    this.flow = file.flow;
    if (this.status !== 'stopped') this.row.flow_json = serializeFlow(file.flow);
    // Instances of tasks that no longer exist go, unless a job of theirs is still running.
    let dropped = 0;
    for (const inst of [...this.tasks.values()]) {
      if (!file.flow.tasks.has(inst.name) && !ACTIVE_STATES.has(inst.state)) {
        this.tasks.delete(inst.id);
        this.ctx.store.deleteTask(this.id, inst.cycle, inst.name);
        this.prunedTasks.add(inst.id);
        dropped++;
      }
    }
    this.markAllTasks();
    this.saveRow();
    this.requestPass();
    return done(`reloaded flow.yaml (${file.flow.tasks.size} task(s)${dropped ? `, ${dropped} instance(s) removed` : ''})`);
  }

  private clean(): Outcome {
    if (this.status !== 'stopped') return refuse(`cannot clean: workflow is ${this.status}; stop it first`);
    const live = this.activeTasks().filter((i) => i.pid !== null && isJobAlive(i.pid, this.jobDir(i)));
    if (live.length) return refuse(`cannot clean: ${live.length} job(s) still running (${live.map((i) => i.id).join(', ')}); kill them first`);
    try {
      rmSync(this.runDir, { recursive: true, force: true });
    } catch (err) {
      return refuse(`cannot clean: ${(err as Error).message}`);
    }
    this.ctx.store.forgetRun(this.id);
    for (const id of this.tasks.keys()) this.prunedTasks.add(id);
    this.tasks.clear();
    this.broadcasts = [];
    this.xtriggers.clear();
    this.row.hold_point = null;
    this.saveRow();
    return done(`removed run directory ${this.runLabel} and the run's state`);
  }

  private broadcast(args: OperationArgs<'broadcast'>, by: string): Outcome {
    const points = args.cyclePoints ?? ['*'];
    const namespaces = args.namespaces ?? ['*'];
    if (args.mode === 'set') {
      if (args.settings.env === undefined && args.settings.script === undefined) return refuse('broadcast: args.settings: give env or script to set');
      let seq = Math.max(0, ...this.broadcasts.map((b) => b.seq));
      const now = new Date().toISOString();
      for (const cycle_point of points) {
        for (const namespace of namespaces) {
          const existing = this.broadcasts.find((b) => b.cycle_point === cycle_point && b.namespace === namespace);
          const env = { ...(existing ? (JSON.parse(existing.env) as Record<string, string>) : {}), ...args.settings.env };
          const row: BroadcastRow = { workflow: this.id, cycle_point, namespace, env: JSON.stringify(env), script: args.settings.script ?? existing?.script ?? null, seq: ++seq, set_by: by, set_at: now };
          this.ctx.store.saveBroadcast(row);
        }
      }
    } else {
      const clearAll = args.settings.env === undefined && args.settings.script === undefined;
      const targets = this.broadcasts.filter((b) => (!args.cyclePoints || points.includes(b.cycle_point)) && (!args.namespaces || namespaces.includes(b.namespace)));
      if (targets.length === 0) return refuse('broadcast clear: no broadcast matches those cycle points and namespaces');
      for (const b of targets) {
        const env = JSON.parse(b.env) as Record<string, string>;
        for (const key of clearAll ? Object.keys(env) : Object.keys(args.settings.env ?? {})) delete env[key];
        const script = clearAll || args.settings.script !== undefined ? null : b.script;
        if (Object.keys(env).length === 0 && script === null) this.ctx.store.deleteBroadcast(this.id, b.cycle_point, b.namespace);
        else this.ctx.store.saveBroadcast({ ...b, env: JSON.stringify(env), script });
      }
    }
    this.broadcasts = this.ctx.store.broadcasts(this.id);
    this.markAllTasks();
    return done(`broadcast ${args.mode} for cycle point(s) ${points.join(', ')} and task(s) ${namespaces.join(', ')}`);
  }

  private extTrigger(args: OperationArgs<'ext_trigger'>): Outcome {
    const cycle = args.id === undefined ? 0 : Number(args.id);
    const uses = this.flow ? [...this.flow.tasks.values()].filter((t) => t.xtrigger === args.name) : [];
    if (uses.length === 0) return refuse(`ext_trigger: no task waits for xtrigger "${args.name}"`);
    this.xtriggers.add(`${args.name}@${cycle}`);
    this.ctx.store.addXtrigger(this.id, args.name, cycle);
    this.markAllTasks();
    this.requestPass();
    return done(`xtrigger "${args.name}" satisfied${cycle ? ` for cycle point ${cycle}` : ' for every cycle point'}`);
  }

  /**
   * Applies `change` to every instance the selectors match (an exact `cycle/name` may create the
   * instance when `create` is set). Instances that cannot take the change (`check` says why) are
   * skipped; if a selector matches nothing, or no instance can take it, nothing changes at all.
   */
  private forTasks(selectors: string[], create: boolean, check: (inst: TaskInstance) => string | null, change: (inst: TaskInstance) => void, verb: string): Outcome {
    const matched = new Map<string, TaskInstance>();
    for (const text of selectors) {
      const sel = parseSelector(text);
      let found = false;
      for (const inst of this.tasks.values()) {
        if (selectorMatches(sel, inst.cycle, inst.name)) {
          matched.set(inst.id, inst);
          found = true;
        }
      }
      if (!found && create && sel.exact && this.flow?.tasks.has(sel.exact.name) && sel.exact.cycle <= this.flow.cycles) {
        const inst = newInstance(this.id, sel.exact.cycle, sel.exact.name);
        matched.set(inst.id, inst);
        found = true;
      }
      if (!found) return refuse(`${verb}: no task matches "${text}"`);
    }
    const skipped: string[] = [];
    const applicable: TaskInstance[] = [];
    for (const inst of matched.values()) {
      const problem = check(inst);
      if (problem) skipped.push(`${inst.id} ${problem}`);
      else applicable.push(inst);
    }
    if (applicable.length === 0) return refuse(`${verb}: nothing to do: ${skipped.join('; ')}`);
    for (const inst of applicable) {
      change(inst);
      this.tasks.set(inst.id, inst);
      this.save(inst);
    }
    this.requestPass();
    const note = skipped.length ? ` (skipped: ${skipped.join('; ')})` : '';
    return done(`${verb}: ${applicable.map((i) => i.id).join(', ')}${note}`);
  }

  // ---------------------------------------------------------------- scheduling

  requestPass(): void {
    if (this.passQueued || this.closed) return;
    this.passQueued = true;
    setImmediate(() => {
      this.passQueued = false;
      if (!this.closed) this.ctx.atomically(() => this.pass());
    });
  }

  private pass(): void {
    const flow = this.flow;
    if (this.status === 'stopped' || !flow) return;
    if (this.status === 'stopping') {
      if (this.activeTasks().length === 0) this.setStatus('stopped', 'stopped: all jobs finished');
      return;
    }
    const base = this.spawnWindow(flow);
    let active = 0;
    const ready: TaskInstance[] = [];
    let waitingOnOutside = false;
    for (const inst of this.tasks.values()) {
      if (ACTIVE_STATES.has(inst.state)) active++;
      if (inst.state !== 'waiting') continue;
      if (inst.triggered) {
        ready.push(inst);
        continue;
      }
      const blocker = this.blocker(inst, flow, base);
      if (blocker === null) ready.push(inst);
      else if (blocker === 'outside') waitingOnOutside = true;
      if (blocker !== null) this.setQueued(inst, false);
    }
    // Manually triggered tasks go first, then earlier cycle points.
    ready.sort((a, b) => b.triggered - a.triggered || a.cycle - b.cycle);
    const free = Math.max(0, this.ctx.concurrency - active);
    ready.forEach((inst, i) => {
      if (i < free) this.submit(inst);
      else this.setQueued(inst, true);
    });
    if (this.status === 'running' && active === 0 && ready.length === 0 && !waitingOnOutside) {
      const unfinished = [...this.tasks.values()].filter((i) => i.state === 'waiting').length;
      if (unfinished === 0) this.setStatus('stopped', 'stopped: workflow complete');
      else {
        this.log('WARNING', 'stall', `stalled: ${unfinished} task(s) wait on tasks that failed or were removed`);
        this.setStatus('stopped', 'stopped: stalled');
      }
    }
  }

  /** Why a waiting instance cannot run: null (it can), 'outside' (needs an operation), 'graph'. */
  private blocker(inst: TaskInstance, flow: FlowDefinition, base: number): 'outside' | 'graph' | null {
    const def = flow.tasks.get(inst.name);
    if (!def) return 'graph';
    if (this.status !== 'running') return 'outside';
    if (inst.held || (this.row.hold_point !== null && inst.cycle > this.row.hold_point)) return 'outside';
    if (inst.cycle >= base + flow.runahead) return 'graph';
    for (const dep of def.depends) {
      const cycle = inst.cycle - dep.offset;
      if (cycle < 1) continue;
      const upstream = this.tasks.get(taskId(cycle, dep.name));
      if (!upstream) {
        if (cycle >= base) return 'graph';
        continue;
      }
      if (!outputsOf(upstream).includes('succeeded')) return 'graph';
    }
    if (def.xtrigger && !this.xtriggerSatisfied(def.xtrigger, inst.cycle)) return 'outside';
    return null;
  }

  xtriggerSatisfied(name: string, cycle: number): boolean {
    return this.xtriggers.has(`${name}@0`) || this.xtriggers.has(`${name}@${cycle}`);
  }

  /** The lowest cycle point with unfinished work: the runahead window starts there. */
  private windowBase(): number {
    let base = Infinity;
    let highest = 0;
    for (const inst of this.tasks.values()) {
      highest = Math.max(highest, inst.cycle);
      if (!FINAL_STATES.has(inst.state) && inst.cycle < base) base = inst.cycle;
    }
    return base === Infinity ? highest + 1 : base;
  }

  /** Creates the instances of the runahead window and returns its base (new instances leave it unchanged). */
  private spawnWindow(flow: FlowDefinition): number {
    const base = this.windowBase();
    const last = Math.min(flow.cycles, base + flow.runahead - 1);
    for (let cycle = Math.max(1, base); cycle <= last; cycle++) {
      for (const name of flow.tasks.keys()) {
        const id = taskId(cycle, name);
        if (this.tasks.has(id)) continue;
        const inst = newInstance(this.id, cycle, name);
        this.tasks.set(id, inst);
        this.save(inst);
      }
    }
    return base;
  }

  private setQueued(inst: TaskInstance, queued: boolean): void {
    if (inst.queued === queued) return;
    inst.queued = queued;
    this.dirtyTasks.add(inst.id);
    this.ctx.changed(this);
  }

  private submit(inst: TaskInstance): void {
    const def = this.flow?.tasks.get(inst.name);
    if (!def) return;
    const submitNum = inst.submit_num + 1;
    Object.assign(inst, {
      state: 'preparing', submit_num: submitNum, triggered: 0, queued: false, killing: false, adopted: false,
      started_at: null, finished_at: null, exit_code: null, pid: null, outputs: '[]',
    });
    this.save(inst);
    this.log('DEBUG', 'submit', `${inst.id}: submitting job ${submitNum}`);
    const settings = effectiveSettings(def, inst.cycle, this.broadcasts);
    const env: Record<string, string> = {};
    // The server's own FLOTILLA_* variables (its secret among them) never reach jobs.
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLOTILLA_')) env[k] = v;
    Object.assign(env, settings.env, { FLOTILLA_WORKFLOW: this.id, FLOTILLA_TASK: inst.name, FLOTILLA_CYCLE: String(inst.cycle) });
    const current = () => !this.closed && this.tasks.get(inst.id) === inst && inst.submit_num === submitNum;
    launchJob({ runDir: this.runDir, jobDir: this.jobDir(inst), script: settings.script, env }, {
      started: () => {
        if (!current() || !ACTIVE_STATES.has(inst.state)) return;
        this.ctx.atomically(() => {
          inst.state = 'running';
          inst.started_at = new Date().toISOString();
          addOutputs(inst, ['submitted', 'started']);
          this.save(inst);
        });
      },
      exited: (status) => {
        if (current()) this.ctx.atomically(() => this.finish(inst, submitNum, status));
      },
    }).then(
      (pid) => {
        if (!current()) return;
        this.ctx.atomically(() => {
          inst.pid = pid;
          if (inst.state === 'preparing') {
            inst.state = 'submitted';
            addOutputs(inst, ['submitted']);
          }
          this.save(inst);
          if (inst.killing) killJob(pid);
        });
      },
      (err: Error) => {
        if (!current()) return;
        this.ctx.atomically(() => {
          inst.finished_at = new Date().toISOString();
          if (!this.retry(inst, this.flow?.tasks.get(inst.name), `job ${submitNum} could not start (submission failure: ${err.message})`)) {
            inst.state = 'submit-failed';
            addOutputs(inst, ['submit-failed']);
            this.log('ERROR', 'submit-failed', `${inst.id}: job ${submitNum} could not start: ${err.message}`);
          }
          inst.killing = false;
          this.save(inst);
          this.requestPass();
        });
      },
    );
  }

  private finish(inst: TaskInstance, submitNum: number, status: number): void {
    if (inst.submit_num !== submitNum || !ACTIVE_STATES.has(inst.state)) return;
    const def = this.flow?.tasks.get(inst.name);
    inst.exit_code = status;
    inst.finished_at = new Date().toISOString();
    inst.adopted = false;
    if (status === 0) {
      inst.state = 'succeeded';
      addOutputs(inst, ['succeeded']);
      this.log('INFO', 'succeeded', `${inst.id}: job ${submitNum} succeeded`);
    } else if (this.retry(inst, def, `job ${submitNum} failed with exit status ${status} (job failure)`)) {
      // Back to waiting: the next pass submits it again.
    } else {
      inst.state = 'failed';
      addOutputs(inst, ['failed']);
      this.log('WARNING', 'failed', `${inst.id}: job ${submitNum} ${inst.killing ? 'killed' : 'failed'} with exit status ${status}`);
    }
    inst.killing = false;
    this.save(inst);
    this.requestPass();
  }

  /**
   * Sends a failed instance back to waiting when its `retries` allow another try. Jobs that exit
   * non-zero and jobs that cannot start draw on the same budget, so a task never gets more than
   * `retries` extra tries whatever went wrong; `why` names which kind of failure this was.
   */
  private retry(inst: TaskInstance, def: TaskDefinition | undefined, why: string): boolean {
    if (inst.killing || !def || inst.failures >= def.retries) return false;
    inst.failures++;
    inst.state = 'waiting';
    this.log('WARNING', 'retry', `${inst.id}: ${why}; retry ${inst.failures} of ${def.retries}`);
    return true;
  }

  private lose(inst: TaskInstance): void {
    inst.state = 'failed';
    inst.finished_at = new Date().toISOString();
    inst.adopted = false;
    inst.killing = false;
    addOutputs(inst, ['failed']);
    this.save(inst);
    this.log('WARNING', 'lost', `${inst.id}: job ${inst.submit_num} lost: its process is gone and left no exit status`);
    this.requestPass();
  }

  /** Compares an active job with its process: finished (status file), alive, or lost. */
  private checkJob(inst: TaskInstance): void {
    const jobDir = this.jobDir(inst);
    const status = readJobStatus(jobDir);
    if (status !== undefined) {
      this.finish(inst, inst.submit_num, status);
      return;
    }
    const pid = inst.pid ?? readJobPid(jobDir);
    if (pid !== undefined && isJobAlive(pid, jobDir)) return;
    // A job this engine started reports its own exit, and one still being launched has no pid yet.
    if (!inst.adopted && (pid !== undefined || inst.state === 'preparing')) return;
    this.lose(inst);
  }

  private killInstance(inst: TaskInstance): void {
    inst.killing = true;
    if (inst.pid !== null) killJob(inst.pid);
  }

  private activeTasks(): TaskInstance[] {
    return [...this.tasks.values()].filter((i) => ACTIVE_STATES.has(i.state));
  }

  jobDir(inst: TaskInstance, submitNum = inst.submit_num): string {
    return jobDirFor(this.runDir, inst.cycle, inst.name, submitNum);
  }

  // ---------------------------------------------------------------- state, log

  private setStatus(status: WorkflowStatus, text: string): Outcome {
    this.row.status = status;
    this.saveRow();
    this.markAllTasks();
    this.log('INFO', 'status', text);
    this.requestPass();
    return done(text);
  }

  private markAllTasks(): void {
    for (const id of this.tasks.keys()) this.dirtyTasks.add(id);
    this.touch();
  }

  private save(inst: TaskInstance): void {
    this.ctx.store.saveTask(toRow(inst));
    this.dirtyTasks.add(inst.id);
    this.touch();
  }

  private saveRow(): void {
    this.row.last_activity = new Date().toISOString();
    this.ctx.store.saveWorkflow(this.row);
    this.summaryDirty = true;
    this.ctx.changed(this);
  }

  private touch(): void {
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

function formatError(e: { message: string; file: string; line?: number; column?: number }): string {
  return `${e.file}${e.line !== undefined ? `:${e.line}:${e.column ?? 1}` : ''}: ${e.message}`;
}

function serializeFlow(flow: FlowDefinition): string {
  return JSON.stringify({ ...flow, tasks: [...flow.tasks.values()] });
}

function deserializeFlow(json: string): FlowDefinition {
  const raw = JSON.parse(json) as Omit<FlowDefinition, 'tasks'> & { tasks: FlowDefinition['tasks'] extends Map<string, infer T> ? T[] : never };
  return { ...raw, tasks: new Map(raw.tasks.map((t) => [t.name, t])) };
}

