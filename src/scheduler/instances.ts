/**
 * Task instances in memory, the broadcast overrides that shape their jobs, and their views.
 */
import type { FlowDefinition, TaskDefinition } from './flow.js';
import { globToRegExp } from './selectors.js';
import type { BroadcastRow, TaskRow } from './store.js';
import type { TaskMessage, TaskState, TaskView } from './types.js';

export interface TaskInstance extends TaskRow {
  id: string;
  /** Ready but waiting for a free job slot. */
  queued: boolean;
  /** A kill was asked for: the ending is a failure without retry. */
  killing: boolean;
  /** Watched by polling (found again after a restart) rather than by a child exit event. */
  adopted: boolean;
  messages?: TaskMessage[];
}

export const ACTIVE_STATES: ReadonlySet<TaskState> = new Set(['preparing', 'submitted', 'running']);
export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'submit-failed', 'expired']);

export function taskId(cycle: number, name: string): string {
  return `${cycle}/${name}`;
}

export function newInstance(workflow: string, cycle: number, name: string): TaskInstance {
  return {
    workflow, cycle, name, id: taskId(cycle, name), state: 'waiting', held: 0, triggered: 0,
    submit_num: 0, failures: 0, started_at: null, finished_at: null, exit_code: null, pid: null,
    outputs: '[]', queued: false, killing: false, adopted: false,
  };
}

export function fromRow(row: TaskRow): TaskInstance {
  return { ...row, id: taskId(row.cycle, row.name), queued: false, killing: false, adopted: false };
}

export function toRow(inst: TaskInstance): TaskRow {
  const { workflow, cycle, name, state, held, triggered, submit_num, failures, started_at, finished_at, exit_code, pid, outputs } = inst;
  return { workflow, cycle, name, state, held, triggered, submit_num, failures, started_at, finished_at, exit_code, pid, outputs };
}

export function outputsOf(inst: TaskInstance): string[] {
  return JSON.parse(inst.outputs) as string[];
}

export function addOutputs(inst: TaskInstance, outputs: string[]): void {
  const current = outputsOf(inst);
  for (const o of outputs) if (!current.includes(o)) current.push(o);
  inst.outputs = JSON.stringify(current);
}

/** The script and env a job of this instance gets: definition first, broadcasts on top. */
export function effectiveSettings(def: TaskDefinition, cycle: number, broadcasts: BroadcastRow[]): { script: string; env: Record<string, string> } {
  let script = def.script;
  const env = { ...def.env };
  const matching = broadcasts
    .filter((b) => (b.cycle_point === '*' || b.cycle_point === String(cycle)) && globToRegExp(b.namespace).test(def.name))
    // Specific overrides beat general ones: a named cycle point over '*', a named task over a glob.
    .sort((a, b) => specificity(a) - specificity(b) || a.seq - b.seq);
  for (const b of matching) {
    Object.assign(env, JSON.parse(b.env) as Record<string, string>);
    if (b.script !== null) script = b.script;
  }
  return { script, env };
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
}

export function taskView(inst: TaskInstance, ctx: ViewContext): TaskView {
  const def = ctx.flow?.tasks.get(inst.name);
  const view: TaskView = {
    id: inst.id,
    cycle: inst.cycle,
    name: inst.name,
    state: inst.state,
    held: inst.held === 1 || (ctx.holdPoint !== null && inst.cycle > ctx.holdPoint && !FINAL_STATES.has(inst.state)),
    queued: inst.queued,
    submitNum: inst.submit_num,
    outputs: outputsOf(inst),
    messages: ctx.messages(inst),
  };
  if (inst.started_at) view.startedAt = inst.started_at;
  if (inst.finished_at) view.finishedAt = inst.finished_at;
  if (inst.exit_code !== null) view.exitCode = inst.exit_code;
  if (inst.pid !== null && ACTIVE_STATES.has(inst.state)) view.pid = inst.pid;
  if (def) {
    if (def.xtrigger) {
      view.xtrigger = def.xtrigger;
      view.xtriggerSatisfied = ctx.xtriggerSatisfied(def.xtrigger, inst.cycle);
    }
    const settings = effectiveSettings(def, inst.cycle, ctx.broadcasts);
    view.script = settings.script;
    view.env = settings.env;
  }
  return view;
}
