/**
 * The scheduling pass: creates the instances of the runahead window, decides which waiting
 * instances are ready, records the submissions there is room for, and notices a workflow that
 * completed or stalled. It starts no process: the caller launches the returned submissions once
 * the pass's transaction has committed.
 */
import type { FlowDefinition } from './flow.js';
import { ACTIVE_STATES, FINAL_STATES, effectiveSettings, newInstance, taskId, type TaskInstance } from './instances.js';
import { exactTask } from './selectors.js';
import type { WorkflowRuntime } from './workflow.js';

/** Runs one pass and returns the instances it moved to `preparing` (each with its new job number). */
export function schedulingPass(rt: WorkflowRuntime): TaskInstance[] {
  if (rt.status === 'stopped') rt.takeFileIfIdle();
  const flow = rt.flow;
  if (rt.status === 'stopped' || !flow) return [];
  if (rt.status === 'stopping') {
    if (rt.activeTasks().length === 0) rt.endRun('stopped', 'stopped: all jobs finished');
    return [];
  }
  const base = spawnWindow(rt, flow);
  let active = 0;
  const ready: TaskInstance[] = [];
  let waitingOnOutside = false;
  for (const inst of rt.tasks.values()) {
    if (ACTIVE_STATES.has(inst.state)) active++;
    if (inst.state !== 'waiting') continue;
    if (inst.triggered) {
      ready.push(inst);
      continue;
    }
    const blocker = blockerOf(rt, inst, flow, base);
    if (blocker === null) ready.push(inst);
    else if (blocker === 'outside') waitingOnOutside = true;
    if (blocker !== null) setQueued(rt, inst, false);
  }
  // Manually triggered tasks go first, then earlier cycle points.
  ready.sort((a, b) => Number(b.triggered) - Number(a.triggered) || a.cycle - b.cycle);
  const free = rt.ctx.canSubmit() ? Math.max(0, rt.ctx.concurrency - active) : 0;
  const submissions: TaskInstance[] = [];
  ready.forEach((inst, i) => {
    if (i < free) submissions.push(recordSubmission(rt, inst));
    else setQueued(rt, inst, true);
  });
  if (rt.status === 'stalled' && submissions.length > 0) {
    rt.setStatus('running', `running again: ${submissions.map((i) => i.id).join(', ')} submitted`);
  } else if ((rt.status === 'running' || rt.status === 'stalled') && active === 0 && ready.length === 0 && !waitingOnOutside) {
    noticeEnd(rt);
  }
  return submissions;
}

/**
 * Nothing is active and nothing can start. With every instance succeeded (or removed) the run is
 * complete; otherwise it stalls, as in Cylc 8: it stays up so that failed tasks can be triggered,
 * set or removed, until the stall timeout stops it.
 */
function noticeEnd(rt: WorkflowRuntime): void {
  let waiting = 0;
  let failed = 0;
  for (const inst of rt.tasks.values()) {
    if (inst.state === 'waiting') waiting++;
    else if (inst.state === 'failed' || inst.state === 'submit-failed') failed++;
  }
  if (waiting === 0 && failed === 0) {
    rt.endRun('complete', 'stopped: workflow complete');
    return;
  }
  if (rt.status === 'stalled') return;
  const why = [failed ? `${failed} task(s) failed` : '', waiting ? `${waiting} task(s) wait on tasks that failed or were removed` : ''].filter(Boolean).join('; ');
  rt.log('WARNING', 'stall', `stalled: ${why}; trigger, set or remove tasks to go on`);
  rt.setStatus('stalled', 'stalled');
}

/**
 * Records a new job for `inst`: the next job number and its own new folder name. This is written
 * in the pass's transaction, which commits before the job's process starts.
 */
function recordSubmission(rt: WorkflowRuntime, inst: TaskInstance): TaskInstance {
  const submitNum = inst.submitNum + 1;
  const def = rt.flow?.tasks.get(inst.name);
  // The platform is part of the commitment: recovery asks that platform's runner about the job.
  const platform = def ? effectiveSettings(def, inst.cycle, rt.broadcasts).platform : null;
  rt.change(inst, {
    state: 'preparing', submitNum, triggered: false, queued: false, killing: false, adopted: false,
    startedAt: null, finishedAt: null, exitCode: null, pid: null, jobId: null, platform, outputs: new Set(),
  });
  rt.log('DEBUG', 'submit', `${inst.id}: submitting job ${submitNum}`);
  return inst;
}

/** Why a waiting instance cannot run: null (it can), 'outside' (needs an operation), 'graph'. */
function blockerOf(rt: WorkflowRuntime, inst: TaskInstance, flow: FlowDefinition, base: number): 'outside' | 'graph' | null {
  const def = flow.tasks.get(inst.name);
  if (!def) return 'graph';
  if (rt.status !== 'running' && rt.status !== 'stalled') return 'outside';
  if (inst.held || (rt.row.hold_point !== null && inst.cycle > rt.row.hold_point)) return 'outside';
  if (inst.cycle >= base + flow.runahead) return 'graph';
  for (const dep of def.depends) {
    const cycle = inst.cycle - dep.offset;
    if (cycle < 1) continue;
    const upstream = rt.tasks.get(taskId(cycle, dep.name));
    if (!upstream) {
      if (cycle >= base) return 'graph';
      continue;
    }
    if (!upstream.outputs.has('succeeded')) return 'graph';
  }
  if (def.xtrigger && !rt.xtriggerSatisfied(def.xtrigger, inst.cycle)) return 'outside';
  return null;
}

/**
 * The runahead window starts at the lowest cycle point with unfinished work, or just past the
 * highest cycle point it has spawned (recorded: instances made ahead of it by hold, set, remove,
 * message or trigger do not move it, and instances dropped by a reload do not move it back).
 */
function windowBase(rt: WorkflowRuntime): number {
  let base = Infinity;
  for (const inst of rt.tasks.values()) if (!FINAL_STATES.has(inst.state) && inst.cycle < base) base = inst.cycle;
  return Math.min(base, spawnedThrough(rt) + 1);
}

function spawnedThrough(rt: WorkflowRuntime): number {
  const recorded = rt.row.spawned_through;
  if (recorded !== null && recorded !== undefined) return recorded;
  // An older store: what the window had reached, as the rule before this record guessed it: the
  // highest instance's cycle point, unless a cycle point below the others has no instance at all
  // (one made ahead of the window by a hold, say), which the window never reached.
  let base = Infinity;
  let highest = 0;
  const spawned = new Set<number>();
  for (const inst of rt.tasks.values()) {
    highest = Math.max(highest, inst.cycle);
    spawned.add(inst.cycle);
    if (!FINAL_STATES.has(inst.state) && inst.cycle < base) base = inst.cycle;
  }
  const below = Math.min(base, highest);
  let spawnedBelow = 0;
  for (const cycle of spawned) if (cycle < below) spawnedBelow++;
  if (spawnedBelow < below - 1) {
    for (let cycle = 1; cycle < below; cycle++) if (!spawned.has(cycle)) return cycle - 1;
  }
  return highest;
}

/** Creates the instances of the runahead window and returns its base (new instances leave it unchanged). */
function spawnWindow(rt: WorkflowRuntime, flow: FlowDefinition): number {
  // A window whose instances all exist and are finished (removed or set ahead of it) moves on at
  // once: otherwise the pass finds nothing to do and the run ends, skipping the cycle points after.
  // It ends: the base only rises, and past the last cycle point the window is empty.
  for (let base = windowBase(rt); ; ) {
    const window = windowAt(flow, base);
    forMissingIn(rt, window, (cycle, name) => rt.change(newInstance(rt.id, cycle, name), {}));
    const recorded = rt.row.spawned_through;
    if (recorded === null || recorded === undefined || window.last > recorded) {
      rt.row.spawned_through = window.last;
      rt.saveRow();
    }
    const next = windowBase(rt);
    if (next === base) return base;
    base = next;
  }
}

interface Window {
  flow: FlowDefinition;
  first: number;
  last: number;
}

function windowAt(flow: FlowDefinition, base: number): Window {
  return { flow, first: Math.max(1, base), last: Math.min(flow.cycles, base + flow.runahead - 1) };
}

/**
 * The runahead window as a stopped workflow's play would start from it, or the next pass fills
 * it: where its instances that do not exist yet are shown (all waiting), so that people see a
 * workflow's tasks before it first runs. None while the workflow is stopping (no pass spawns) or
 * is stopped with a flow.yaml that play would refuse.
 */
function shownWindow(rt: WorkflowRuntime): Window | null {
  if (!rt.flow || rt.status === 'stopping' || (rt.status === 'stopped' && !rt.file.ok)) return null;
  return windowAt(rt.flow, windowBase(rt));
}

/** An instance shown before it exists: nothing was ever recorded for it, so no messages to look up. */
function unspawned(rt: WorkflowRuntime, cycle: number, name: string): TaskInstance {
  return { ...newInstance(rt.id, cycle, name), messages: [] };
}

/** The window's instances that do not exist yet (shownWindow), as the next pass would make them. */
export function unspawnedWindow(rt: WorkflowRuntime): TaskInstance[] {
  const missing: TaskInstance[] = [];
  const window = shownWindow(rt);
  if (window) forMissingIn(rt, window, (cycle, name) => missing.push(unspawned(rt, cycle, name)));
  return missing;
}

/** How many there are, without making them (a summary's counts). */
export function countUnspawned(rt: WorkflowRuntime): number {
  let count = 0;
  const window = shownWindow(rt);
  if (window) forMissingIn(rt, window, () => count++);
  return count;
}

/**
 * Finds one of them by id, making only that one. The window is worked out at the first id that
 * names no instance, and once per lookup function.
 */
export function unspawnedLookup(rt: WorkflowRuntime): (id: string) => TaskInstance | undefined {
  let window: Window | null | undefined;
  return (id) => {
    const task = rt.tasks.has(id) ? undefined : exactTask(id);
    if (!task) return undefined;
    window = window === undefined ? shownWindow(rt) : window;
    if (!window || task.cycle < window.first || task.cycle > window.last || !window.flow.tasks.has(task.name)) return undefined;
    return unspawned(rt, task.cycle, task.name);
  };
}

/** Calls `visit` for each (cycle, task) of the window without an instance. */
function forMissingIn(rt: WorkflowRuntime, window: Window, visit: (cycle: number, name: string) => void): void {
  // Most of the time none is missing (every pass fills the window): counting the instances there
  // says so without making an id string for each of the window's tasks, on every pass and delta.
  let present = 0;
  for (const inst of rt.tasks.values()) {
    if (inst.cycle >= window.first && inst.cycle <= window.last && window.flow.tasks.has(inst.name)) present++;
  }
  if (present === Math.max(0, window.last - window.first + 1) * window.flow.tasks.size) return;
  for (let cycle = window.first; cycle <= window.last; cycle++) {
    for (const name of window.flow.tasks.keys()) {
      if (!rt.tasks.has(taskId(cycle, name))) visit(cycle, name);
    }
  }
}

export function setQueued(rt: WorkflowRuntime, inst: TaskInstance, queued: boolean): void {
  if (inst.queued !== queued) rt.change(inst, { queued });
}
