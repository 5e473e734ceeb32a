/**
 * Task instances in memory, the broadcast overrides that shape their jobs, and their views.
 */
import type { FlowDefinition, TaskDefinition } from './flow.js';
import { LOCAL_PLATFORM } from '../config/site.js';
import { globToRegExp } from './selectors.js';
import type { BroadcastRow, TaskRow } from './store.js';
import type { TaskMessage, TaskState, TaskView } from './types.js';

/**
 * A task instance as the engine thinks of it. The store keeps the persisted part as a row
 * (0/1 flags, outputs as JSON); only fromRow/toRow know that shape.
 */
export interface TaskInstance {
  readonly workflow: string;
  readonly cycle: number;
  readonly name: string;
  /** `cycle/name` */
  readonly id: string;
  state: TaskState;
  held: boolean;
  /** Triggered by hand: runs without waiting for its dependencies. */
  triggered: boolean;
  /** The number of the latest job; each job has its own folder, never reused. */
  submitNum: number;
  /** Failed tries so far, drawn from the task's `retries`. */
  failures: number;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  pid: number | null;
  /** The platform of the latest job (null: local); fixed when the job is committed. */
  platform: string | null;
  /** The batch system's id of the latest job (a Slurm job id); null for local jobs. */
  jobId: string | null;
  outputs: ReadonlySet<string>;
  /** Ready but waiting for a free job slot (not persisted: the next pass works it out again). */
  queued: boolean;
  /** A kill was asked for: the ending is a failure without retry. Kept in the store, so that a
   * restart sends the kill again rather than forget it. */
  killing: boolean;
  /** Watched by polling (found again after a restart) rather than by a child exit event. */
  adopted: boolean;
  messages?: TaskMessage[];
}

/** What a transition may change: everything but the instance's identity. */
export type TaskChange = Partial<Omit<TaskInstance, 'workflow' | 'cycle' | 'name' | 'id'>>;

/** Fields only memory holds: a change touching nothing else needs no write. */
export const TRANSIENT_FIELDS: ReadonlySet<keyof TaskChange> = new Set(['queued', 'adopted', 'messages']);

export const ACTIVE_STATES: ReadonlySet<TaskState> = new Set(['preparing', 'submitted', 'running']);
export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'submit-failed', 'expired']);

/**
 * The state changes the engine makes. Anything else is a bug in the engine: it is refused (and
 * the transaction it happens in rolls back) rather than written.
 */
const NEXT_STATES: Record<TaskState, ReadonlySet<TaskState>> = {
  waiting: new Set(['waiting', 'preparing', 'succeeded', 'failed', 'expired']),
  preparing: new Set(['preparing', 'submitted', 'running', 'succeeded', 'failed', 'submit-failed', 'waiting']),
  submitted: new Set(['submitted', 'running', 'succeeded', 'failed', 'submit-failed', 'waiting']),
  running: new Set(['running', 'succeeded', 'failed', 'waiting']),
  succeeded: new Set(['succeeded', 'waiting', 'failed', 'expired']),
  failed: new Set(['failed', 'waiting', 'succeeded', 'expired']),
  'submit-failed': new Set(['submit-failed', 'waiting', 'succeeded', 'failed', 'expired']),
  expired: new Set(['expired', 'waiting', 'succeeded', 'failed']),
};

export function checkTransition(inst: TaskInstance, next: TaskState): void {
  if (!NEXT_STATES[inst.state].has(next)) throw new Error(`engine bug: ${inst.workflow} ${inst.id} cannot go from ${inst.state} to ${next}`);
}

export function taskId(cycle: number, name: string): string {
  return `${cycle}/${name}`;
}

export function newInstance(workflow: string, cycle: number, name: string): TaskInstance {
  return {
    workflow, cycle, name, id: taskId(cycle, name), state: 'waiting', held: false, triggered: false,
    submitNum: 0, failures: 0, startedAt: null, finishedAt: null, exitCode: null, pid: null, platform: null, jobId: null,
    outputs: new Set(), queued: false, killing: false, adopted: false,
  };
}

export function fromRow(row: TaskRow): TaskInstance {
  return {
    workflow: row.workflow, cycle: row.cycle, name: row.name, id: taskId(row.cycle, row.name), state: row.state,
    held: row.held === 1, triggered: row.triggered === 1, submitNum: row.submit_num, failures: row.failures,
    startedAt: row.started_at, finishedAt: row.finished_at, exitCode: row.exit_code, pid: row.pid,
    platform: row.platform ?? null, jobId: row.job_id ?? null,
    outputs: new Set(JSON.parse(row.outputs) as string[]), queued: false, killing: row.killing === '1', adopted: false,
  };
}

export function toRow(inst: TaskInstance): TaskRow {
  return {
    workflow: inst.workflow, cycle: inst.cycle, name: inst.name, state: inst.state, held: inst.held ? 1 : 0,
    triggered: inst.triggered ? 1 : 0, submit_num: inst.submitNum, failures: inst.failures, started_at: inst.startedAt,
    finished_at: inst.finishedAt, exit_code: inst.exitCode, pid: inst.pid, outputs: JSON.stringify([...inst.outputs]),
    platform: inst.platform, job_id: inst.jobId, killing: inst.killing ? '1' : null,
  };
}

/** The instance's outputs with `more` added (a new set: instances change only through transitions). */
export function withOutputs(inst: TaskInstance, more: string[]): Set<string> {
  return new Set([...inst.outputs, ...more]);
}

export interface JobSettings {
  script: string;
  env: Record<string, string>;
  /** null: local. */
  platform: string | null;
  /** The task's directives with broadcasts' on top (the platform's own go under them when submitting). */
  directives: Record<string, string>;
}

/** The settings a job of this instance gets: definition first, broadcasts on top. */
export function effectiveSettings(def: TaskDefinition, cycle: number, broadcasts: BroadcastRow[]): JobSettings {
  let script = def.script;
  let platform = def.platform ?? null;
  const env = { ...def.env };
  // Definitions played before directives existed have none.
  const directives = { ...def.directives };
  const matching = broadcasts
    .filter((b) => (b.cycle_point === '*' || b.cycle_point === String(cycle)) && globToRegExp(b.namespace).test(def.name))
    // Specific overrides beat general ones: a named cycle point over '*', a named task over a glob.
    .sort((a, b) => specificity(a) - specificity(b) || a.seq - b.seq);
  for (const b of matching) {
    Object.assign(env, JSON.parse(b.env) as Record<string, string>);
    if (b.script !== null) script = b.script;
    if (b.platform) platform = b.platform === LOCAL_PLATFORM ? null : b.platform;
    if (b.directives) Object.assign(directives, JSON.parse(b.directives) as Record<string, string>);
  }
  return { script, env, platform, directives };
}

function specificity(b: BroadcastRow): number {
  return (b.cycle_point === '*' ? 0 : 2) + (/[*?[]/.test(b.namespace) ? 0 : 1);
}

export interface ViewContext {
  flow: FlowDefinition | null;
  holdPoint: number | null;
  broadcasts: BroadcastRow[];
  xtriggerSatisfied(name: string, cycle: number): boolean;
  messages(inst: TaskInstance): TaskMessage[];
  platformDirectives(platform: string): Record<string, string>;
}

export function taskView(inst: TaskInstance, ctx: ViewContext): TaskView {
  const def = ctx.flow?.tasks.get(inst.name);
  const view: TaskView = {
    id: inst.id,
    cycle: inst.cycle,
    name: inst.name,
    state: inst.state,
    held: inst.held || (ctx.holdPoint !== null && inst.cycle > ctx.holdPoint && !FINAL_STATES.has(inst.state)),
    queued: inst.queued,
    submitNum: inst.submitNum,
    outputs: [...inst.outputs],
    messages: ctx.messages(inst),
  };
  if (inst.startedAt) view.startedAt = inst.startedAt;
  if (inst.finishedAt) view.finishedAt = inst.finishedAt;
  if (inst.exitCode !== null) view.exitCode = inst.exitCode;
  if (inst.pid !== null && ACTIVE_STATES.has(inst.state)) view.pid = inst.pid;
  if (inst.jobId !== null) view.jobId = inst.jobId;
  if (def) {
    if (def.xtrigger) {
      view.xtrigger = def.xtrigger;
      view.xtriggerSatisfied = ctx.xtriggerSatisfied(def.xtrigger, inst.cycle);
    }
    const settings = effectiveSettings(def, inst.cycle, ctx.broadcasts);
    view.script = settings.script;
    view.env = settings.env;
    // The platform of the job running now, else of the next one; only shown when not the local one.
    const platform = ACTIVE_STATES.has(inst.state) ? inst.platform : settings.platform;
    if (platform !== null && platform !== LOCAL_PLATFORM) {
      view.platform = platform;
      view.directives = { ...ctx.platformDirectives(platform), ...settings.directives };
    }
  }
  return view;
}
