/**
 * The operations a person (or script) asks of one workflow. Each checks that it applies, makes
 * its changes through the runtime's transition, and says what it did or why it refused.
 */
import { rmSync } from 'node:fs';
import { directiveProblem } from '../config/site.js';
import { didYouMean } from '../config/suggest.js';
import { ACTIVE_STATES, FINAL_STATES, newInstance, withOutputs, type TaskInstance } from './instances.js';
import { checkJob, killInstance } from './job-lifecycle.js';
import type { EngineOperation, OperationArgs } from './operations.js';
import { setQueued, unspawnedLookup } from './scheduling.js';
import { parseSelector, selectorMatches } from './selectors.js';
import type { BroadcastRow } from './store.js';
import { formatError, serializeFlow, type WorkflowRuntime } from './workflow.js';

export type Outcome = { ok: boolean; message: string };

const refuse = (message: string): Outcome => ({ ok: false, message });
const done = (message: string): Outcome => ({ ok: true, message });
/** The check of operations that only apply to instances with a job. */
const notActive = (inst: TaskInstance): string | null => (ACTIVE_STATES.has(inst.state) ? null : `is not active (${inst.state})`);

export function applyCommand(rt: WorkflowRuntime, op: EngineOperation, args: Record<string, unknown>, selectors: string[], by: string): Outcome {
  switch (op) {
    case 'play': return play(rt);
    case 'pause': return rt.status === 'running' ? rt.setStatus('paused', 'paused') : refuse(`cannot pause: workflow is ${rt.status}`);
    case 'resume': return rt.status === 'paused' ? rt.setStatus('running', 'resumed') : refuse(`cannot resume: workflow is ${rt.status}`);
    case 'stop': return stop(rt, (args as OperationArgs<'stop'>).mode);
    case 'hold': return forTasks(rt, selectors, true, (i) => (FINAL_STATES.has(i.state) ? 'has finished' : i.held ? 'is already held' : null), (i) => rt.change(i, { held: true }), 'held');
    case 'release': return forTasks(rt, selectors, false, (i) => (i.held ? null : 'is not held'), (i) => rt.change(i, { held: false }), 'released');
    case 'trigger': return trigger(rt, selectors);
    case 'kill': return forTasks(rt, selectors, false, notActive, (i) => killInstance(rt, i), 'killing');
    case 'poll': return poll(rt, selectors);
    case 'remove': return forTasks(rt, selectors, true, (i) => (ACTIVE_STATES.has(i.state) ? 'has an active job (kill it first)' : i.state === 'expired' ? 'is already removed' : null), (i) => rt.change(i, { state: 'expired', queued: false, triggered: false }), 'removed');
    case 'set_outputs': return setOutputs(rt, selectors, (args as OperationArgs<'set_outputs'>).outputs);
    case 'message': return message(rt, selectors, args as OperationArgs<'message'>, by);
    case 'set_hold_point': return setHoldPoint(rt, (args as OperationArgs<'set_hold_point'>).cyclePoint);
    case 'release_hold_point': return releaseHoldPoint(rt);
    case 'reload': return reload(rt);
    case 'clean': return clean(rt);
    case 'broadcast': return broadcast(rt, args as OperationArgs<'broadcast'>, by);
    case 'ext_trigger': return extTrigger(rt, args as OperationArgs<'ext_trigger'>);
    case 'set_verbosity': {
      rt.row.verbosity = (args as OperationArgs<'set_verbosity'>).level;
      rt.saveRow();
      return done(`verbosity set to ${rt.row.verbosity}`);
    }
    case 'set_graph_window_extent': {
      rt.row.graph_window_extent = (args as OperationArgs<'set_graph_window_extent'>).extent;
      rt.saveRow();
      return done(`graph window extent set to ${rt.row.graph_window_extent}`);
    }
  }
}

function play(rt: WorkflowRuntime): Outcome {
  if (rt.status === 'paused') return rt.setStatus('running', 'resumed');
  if (rt.status !== 'stopped') return refuse(`cannot play: workflow is ${rt.status}`);
  rt.file = rt.readFile();
  if (!rt.file.ok) return refuse(`cannot play: ${formatError(rt.file.error)}`);
  try {
    rt.ctx.platforms.prepare(rt.runDir);
  } catch (err) {
    return refuse(`cannot play: cannot create run directory ${rt.runLabel}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  rt.flow = rt.file.flow;
  rt.row.flow_json = serializeFlow(rt.flow);
  return rt.setStatus('running', `started, run directory ${rt.runLabel}`);
}

function stop(rt: WorkflowRuntime, mode: 'clean' | 'kill' | 'now'): Outcome {
  if (rt.status === 'stopped') return refuse('cannot stop: workflow is already stopped');
  const active = rt.activeTasks();
  if (mode === 'now' || active.length === 0) {
    return rt.endRun('stopped', mode === 'now' && active.length ? `stopped now, leaving ${active.length} job(s) running` : 'stopped');
  }
  if (mode === 'kill') for (const inst of active) killInstance(rt, inst);
  for (const inst of rt.tasks.values()) setQueued(rt, inst, false);
  return rt.setStatus('stopping', mode === 'kill' ? `stopping: killing ${active.length} job(s)` : `stopping: waiting for ${active.length} job(s)`);
}

function trigger(rt: WorkflowRuntime, selectors: string[]): Outcome {
  if (rt.status === 'stopped' || rt.status === 'stopping') return refuse(`cannot trigger: workflow is ${rt.status}; play it first`);
  return forTasks(rt, selectors, true, (i) => (ACTIVE_STATES.has(i.state) ? 'is already active' : null), (i) => rt.change(i, { triggered: true, state: 'waiting' }), 'triggered');
}

function poll(rt: WorkflowRuntime, selectors: string[]): Outcome {
  // Batch systems are asked afresh; what they answer arrives on its own, as any job change does.
  rt.ctx.platforms.askNow();
  if (selectors.length === 0) {
    const active = rt.activeTasks();
    for (const inst of active) checkJob(rt, inst);
    return done(`polled ${active.length} job(s)`);
  }
  return forTasks(rt, selectors, false, notActive, (i) => checkJob(rt, i), 'polled');
}

function setOutputs(rt: WorkflowRuntime, selectors: string[], outputs: string[]): Outcome {
  return forTasks(rt, selectors, true, (i) => (ACTIVE_STATES.has(i.state) ? 'has an active job' : null), (inst) => {
    const all = withOutputs(inst, outputs);
    // Marked failed: an earlier success no longer satisfies dependants.
    if (!outputs.includes('succeeded') && outputs.includes('failed')) all.delete('succeeded');
    const state = outputs.includes('succeeded') ? 'succeeded' : outputs.includes('failed') ? 'failed' : inst.state;
    rt.change(inst, { outputs: all, state, queued: false, triggered: false });
  }, `outputs ${outputs.join(', ')} set on`);
}

function message(rt: WorkflowRuntime, selectors: string[], args: OperationArgs<'message'>, by: string): Outcome {
  const at = new Date().toISOString();
  // A message makes no instance: one made below the window would be run. A task shown before it
  // exists (a stopped workflow's) is told apart from one that does not exist at all.
  const notMade = unspawnedLookup(rt);
  const waitingForPlay = selectors.find((text) => notMade(text));
  if (waitingForPlay) return refuse(`cannot message ${waitingForPlay}: it has no job, and nothing recorded, until the workflow is played`);
  const result = forTasks(rt, selectors, false, () => null, (inst) => {
    rt.ctx.store.addMessage(rt.id, inst.cycle, inst.name, { at, severity: args.severity, text: args.text, by });
    rt.change(inst, { messages: undefined });
  }, 'message added to');
  if (result.ok) rt.log(args.severity === 'CRITICAL' ? 'CRITICAL' : args.severity, 'message', `${selectors.join(' ')}: ${args.text}`, by);
  return result;
}

function setHoldPoint(rt: WorkflowRuntime, point: number): Outcome {
  rt.row.hold_point = point;
  rt.markAllTasks();
  rt.saveRow();
  rt.requestPass();
  return done(`hold point set to ${point}: tasks after cycle point ${point} will not be submitted`);
}

function releaseHoldPoint(rt: WorkflowRuntime): Outcome {
  const held = [...rt.tasks.values()].filter((i) => i.held);
  if (rt.row.hold_point === null && held.length === 0) return refuse('nothing to release: no hold point and no held tasks');
  rt.row.hold_point = null;
  for (const inst of held) rt.change(inst, { held: false });
  rt.markAllTasks();
  rt.saveRow();
  rt.requestPass();
  return done(`hold point released${held.length ? ` and ${held.length} task(s) released` : ''}`);
}

function reload(rt: WorkflowRuntime): Outcome {
  const file = rt.readFile();
  if (!file.ok) return refuse(`cannot reload: ${formatError(file.error)}`);
  rt.file = file;
  rt.flow = file.flow;
  if (rt.status !== 'stopped' || rt.activeTasks().length > 0) rt.row.flow_json = serializeFlow(file.flow);
  // Instances of tasks that no longer exist go, unless a job of theirs is still running.
  const gone = [...rt.tasks.values()].filter((inst) => !file.flow.tasks.has(inst.name) && !ACTIVE_STATES.has(inst.state));
  for (const inst of gone) rt.drop(inst);
  rt.markAllTasks();
  rt.saveRow();
  rt.requestPass();
  return done(`reloaded flow.yaml (${file.flow.tasks.size} task(s)${gone.length ? `, ${gone.length} instance(s) removed` : ''})`);
}

function clean(rt: WorkflowRuntime): Outcome {
  if (rt.status !== 'stopped') return refuse(`cannot clean: workflow is ${rt.status}; stop it first`);
  // A job still queued (a Slurm job waiting for a node, a wrapper not yet started) may yet run and
  // write into the run folder: it counts as live as much as a running one.
  const live = rt.activeTasks().filter((i) => {
    const kind = rt.runnerOf(i)?.poll(rt.jobRef(i)).kind;
    return kind === 'running' || kind === 'unclaimed';
  });
  if (live.length) return refuse(`cannot clean: ${live.length} job(s) still running (${live.map((i) => i.id).join(', ')}); kill them first (a queued job counts: it may yet start)`);
  try {
    rmSync(rt.runDir, { recursive: true, force: true });
  } catch (err) {
    return refuse(`cannot clean: ${(err as Error).message}`);
  }
  rt.ctx.store.forgetRun(rt.id);
  for (const id of rt.tasks.keys()) rt.prunedTasks.add(id);
  rt.tasks.clear();
  rt.broadcasts = [];
  rt.xtriggers.clear();
  rt.row.hold_point = null;
  rt.row.last_run = null;
  rt.row.spawned_through = 0;
  rt.takeFileIfIdle();
  rt.markAllTasks();
  rt.saveRow();
  return done(`removed run directory ${rt.runLabel} and the run's state`);
}

/** A platform the site has, and directives sbatch may be given; else what is wrong, key first. */
function broadcastSettingsProblem(rt: WorkflowRuntime, settings: OperationArgs<'broadcast'>['settings']): string | undefined {
  const names = rt.ctx.platforms.names;
  if (settings.platform !== undefined && !names.includes(settings.platform)) {
    return `platform: no platform "${settings.platform}" on this site${didYouMean(settings.platform, names)}; the site has ${names.join(', ')}`;
  }
  for (const [name, value] of Object.entries(settings.directives ?? {})) {
    const problem = directiveProblem(name, value);
    if (problem) return `directives: ${problem}`;
  }
  return undefined;
}

function broadcast(rt: WorkflowRuntime, args: OperationArgs<'broadcast'>, by: string): Outcome {
  const points = args.cyclePoints ?? ['*'];
  const namespaces = args.namespaces ?? ['*'];
  const { settings } = args;
  const nothing = settings.env === undefined && settings.script === undefined && settings.platform === undefined && settings.directives === undefined;
  if (args.mode === 'set') {
    if (nothing) return refuse('broadcast: args.settings: give env, script, platform or directives to set');
    const problem = broadcastSettingsProblem(rt, settings);
    if (problem) return refuse(`broadcast: args.settings.${problem}`);
    let seq = Math.max(0, ...rt.broadcasts.map((b) => b.seq));
    const now = new Date().toISOString();
    for (const cycle_point of points) {
      for (const namespace of namespaces) {
        const existing = rt.broadcasts.find((b) => b.cycle_point === cycle_point && b.namespace === namespace);
        const env = { ...(existing ? (JSON.parse(existing.env) as Record<string, string>) : {}), ...settings.env };
        const directives = { ...(existing?.directives ? (JSON.parse(existing.directives) as Record<string, string>) : {}), ...settings.directives };
        const row: BroadcastRow = {
          workflow: rt.id, cycle_point, namespace, env: JSON.stringify(env), script: settings.script ?? existing?.script ?? null,
          platform: settings.platform ?? existing?.platform ?? null,
          directives: Object.keys(directives).length > 0 ? JSON.stringify(directives) : null, seq: ++seq, set_by: by, set_at: now,
        };
        rt.ctx.store.saveBroadcast(row);
      }
    }
  } else {
    const clearAll = nothing;
    const targets = rt.broadcasts.filter((b) => (!args.cyclePoints || points.includes(b.cycle_point)) && (!args.namespaces || namespaces.includes(b.namespace)));
    if (targets.length === 0) return refuse('broadcast clear: no broadcast matches those cycle points and namespaces');
    for (const b of targets) {
      const env = JSON.parse(b.env) as Record<string, string>;
      for (const key of clearAll ? Object.keys(env) : Object.keys(settings.env ?? {})) delete env[key];
      const script = clearAll || settings.script !== undefined ? null : b.script;
      const platform = clearAll || settings.platform !== undefined ? null : b.platform;
      const directives = b.directives ? (JSON.parse(b.directives) as Record<string, string>) : {};
      for (const key of clearAll ? Object.keys(directives) : Object.keys(settings.directives ?? {})) delete directives[key];
      const hasDirectives = Object.keys(directives).length > 0;
      if (Object.keys(env).length === 0 && script === null && platform === null && !hasDirectives) rt.ctx.store.deleteBroadcast(rt.id, b.cycle_point, b.namespace);
      else rt.ctx.store.saveBroadcast({ ...b, env: JSON.stringify(env), script, platform, directives: hasDirectives ? JSON.stringify(directives) : null });
    }
  }
  rt.broadcasts = rt.ctx.store.broadcasts(rt.id);
  rt.markAllTasks();
  return done(`broadcast ${args.mode} for cycle point(s) ${points.join(', ')} and task(s) ${namespaces.join(', ')}`);
}

function extTrigger(rt: WorkflowRuntime, args: OperationArgs<'ext_trigger'>): Outcome {
  const cycle = args.id === undefined ? 0 : Number(args.id);
  const uses = rt.flow ? [...rt.flow.tasks.values()].filter((t) => t.xtrigger === args.name) : [];
  if (uses.length === 0) return refuse(`ext_trigger: no task waits for xtrigger "${args.name}"`);
  rt.xtriggers.add(`${args.name}@${cycle}`);
  rt.ctx.store.addXtrigger(rt.id, args.name, cycle);
  rt.markAllTasks();
  rt.requestPass();
  return done(`xtrigger "${args.name}" satisfied${cycle ? ` for cycle point ${cycle}` : ' for every cycle point'}`);
}

/**
 * Applies `act` to every instance the selectors match (an exact `cycle/name` may create the
 * instance when `create` is set). Instances that cannot take the change (`check` says why) are
 * skipped; if a selector matches nothing, or no instance can take it, nothing changes at all.
 */
function forTasks(rt: WorkflowRuntime, selectors: string[], create: boolean, check: (inst: TaskInstance) => string | null, act: (inst: TaskInstance) => void, verb: string): Outcome {
  const matched = new Map<string, TaskInstance>();
  for (const text of selectors) {
    const sel = parseSelector(text);
    let found = false;
    for (const inst of rt.tasks.values()) {
      if (selectorMatches(sel, inst.cycle, inst.name)) {
        matched.set(inst.id, inst);
        found = true;
      }
    }
    if (!found && create && sel.exact && rt.flow?.tasks.has(sel.exact.name) && sel.exact.cycle <= rt.flow.cycles) {
      const inst = newInstance(rt.id, sel.exact.cycle, sel.exact.name);
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
    // A new instance joins the workflow even when the operation changes nothing about it (kill, poll).
    if (rt.tasks.get(inst.id) !== inst) rt.change(inst, {});
    act(inst);
  }
  rt.requestPass();
  const note = skipped.length ? ` (skipped: ${skipped.join('; ')})` : '';
  return done(`${verb}: ${applicable.map((i) => i.id).join(', ')}${note}`);
}
