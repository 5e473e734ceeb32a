/**
 * Builds the plain-JSON views of a workflow and turns "something changed" into field-level
 * deltas by comparing with what was last published.
 */
import { taskId, taskView, type TaskInstance, type ViewContext } from './instances.js';
import { countUnspawned, unspawnedLookup, unspawnedWindow } from './scheduling.js';
import type { BroadcastRow, EngineStore } from './store.js';
import { TASK_STATES, type BroadcastView, type Delta, type GraphEdge, type TaskState, type TaskUpdate, type TaskView, type WorkflowSummary, type WorkflowView } from './types.js';
import type { WorkflowRuntime } from './workflow.js';

export function viewContext(rt: WorkflowRuntime, store: EngineStore): ViewContext {
  return {
    flow: rt.flow,
    holdPoint: rt.row.hold_point,
    broadcasts: rt.broadcasts,
    xtriggerSatisfied: (name, cycle) => rt.xtriggerSatisfied(name, cycle),
    messages: (inst) => (inst.messages ??= store.latestMessages(rt.id, inst.cycle, inst.name)),
    platformDirectives: (platform) => rt.ctx.platforms.directivesOf(platform),
  };
}

/**
 * The instances people see: every instance, and the runahead window's instances that do not exist
 * yet, shown waiting (scheduling.ts, unspawnedWindow). A stopped workflow so shows the tasks its
 * play would start from, and play itself changes only what it changes: those 2,000 tasks of a
 * large workflow reach its viewers when they open it, not in the same second as its first jobs end.
 */
function withUnspawned(rt: WorkflowRuntime, unspawned: TaskInstance[]): ReadonlyMap<string, TaskInstance> {
  if (unspawned.length === 0) return rt.tasks;
  const shown = new Map(rt.tasks);
  for (const inst of unspawned) shown.set(inst.id, inst);
  return shown;
}

/** `unspawned`: how many instances are shown that do not exist yet (all waiting). */
export function workflowSummary(rt: WorkflowRuntime, edges: GraphEdge[], unspawned: number): WorkflowSummary {
  const stateCounts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const inst of rt.tasks.values()) stateCounts[inst.state]++;
  stateCounts.waiting += unspawned;
  const summary: WorkflowSummary = {
    id: rt.id,
    name: rt.id,
    description: rt.flow?.description ?? '',
    status: rt.status,
    lastRun: rt.lastRun,
    cycles: rt.flow?.cycles ?? 0,
    runaheadLimit: rt.flow?.runahead ?? 0,
    holdPoint: rt.row.hold_point,
    verbosity: rt.row.verbosity,
    graphWindowExtent: rt.row.graph_window_extent,
    lastActivity: rt.row.last_activity,
    stateCounts,
    edges,
    broadcasts: rt.broadcasts.map(broadcastView),
  };
  if (!rt.file.ok) summary.error = rt.file.error;
  return summary;
}

/**
 * A workflow as a query sees it. Every task's view and the graph's edges are worked out when first
 * read and then kept: a list of workflows asks for neither, and with 2,000 tasks they were most of
 * what `{ workflows { id } }` cost (10 of 13 ms through the hub). A query's resolvers read them in
 * the same turn as the view is made, so they show the same moment as the rest.
 */
export function workflowView(rt: WorkflowRuntime, store: EngineStore): WorkflowView {
  const view: WorkflowView = { ...workflowSummary(rt, [], countUnspawned(rt)), tasks: [] };
  let shown: ReadonlyMap<string, TaskInstance> | undefined;
  const shownNow = () => (shown ??= withUnspawned(rt, unspawnedWindow(rt)));
  onFirstRead(view, 'edges', () => graphEdges(rt, shownNow()));
  onFirstRead(view, 'tasks', () => {
    const ctx = viewContext(rt, store);
    return [...shownNow().values()].map((inst) => taskView(inst, ctx));
  });
  return view;
}

/** The views of the tasks of `rt` named in `ids`, in that order; ids that name no task are left out. */
export function taskViews(rt: WorkflowRuntime, store: EngineStore, ids: readonly string[]): TaskView[] {
  const ctx = viewContext(rt, store);
  const unspawned = unspawnedLookup(rt);
  return ids.flatMap((id) => {
    const inst = rt.tasks.get(id) ?? unspawned(id);
    return inst ? [taskView(inst, ctx)] : [];
  });
}

/** Makes `key` of `target` a value worked out by `make` when it is first read, then kept. */
function onFirstRead<T extends object, K extends keyof T>(target: T, key: K, make: () => T[K]): void {
  Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      const value = make();
      Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
      return value;
    },
  });
}

function broadcastView(row: BroadcastRow): BroadcastView {
  const settings: BroadcastView['settings'] = { env: JSON.parse(row.env) as Record<string, string> };
  if (row.script !== null) settings.script = row.script;
  if (row.platform) settings.platform = row.platform;
  if (row.directives) settings.directives = JSON.parse(row.directives) as Record<string, string>;
  return { id: `${row.cycle_point}/${row.namespace}`, cyclePoint: row.cycle_point, namespace: row.namespace, settings, seq: row.seq, setBy: row.set_by, setAt: row.set_at };
}

/**
 * Every dependency edge between instances that exist. Which of them a view shows (those within
 * `graphWindowExtent` edges of an unfinished task) is the view's to work out, from the tasks'
 * states it holds anyway: that window moves with every task that finishes, and publishing it as
 * it moved was most of a busy run's delta bytes (a copy per subscriber, tens of KB each for a
 * large graph), where these edges change only when instances come or go.
 */
function graphEdges(rt: WorkflowRuntime, shown: ReadonlyMap<string, TaskInstance>): GraphEdge[] {
  const flow = rt.flow;
  if (!flow) return [];
  const edges: GraphEdge[] = [];
  for (const inst of shown.values()) {
    for (const dep of flow.tasks.get(inst.name)?.depends ?? []) {
      const from = taskId(inst.cycle - dep.offset, dep.name);
      if (!shown.has(from)) continue;
      edges.push({ from, to: inst.id });
    }
  }
  return edges;
}

/**
 * While tasks keep coming (a cycling run spawning its next cycle points), the edges are worked out
 * and published at most this often (ms): each time they are the whole list, a copy per
 * subscriber. A change after a quiet spell, and any change of the definition, goes out at once.
 */
export const EDGES_GAP_MS = 1000;

/** Remembers what was published for one workflow, to send only what changed. */
export class PublishedState {
  private summary: WorkflowSummary | undefined;
  private readonly tasks = new Map<string, TaskView>();
  /** The definition the graph's edges were worked out from: with the same instances, they are the same. */
  private graphFlow: WorkflowRuntime['flow'] | undefined;
  /** Tasks came or went since the edges were last worked out. */
  private edgesStale = false;
  /** When the edges were last worked out (performance.now), and whether there were tasks then. */
  private edgesAt = Number.NEGATIVE_INFINITY;
  private edgesHadTasks = false;
  /** Set while edges that changed are held back by EDGES_GAP_MS: when they are due (performance.now). */
  edgesDueAt: number | undefined;
  /** The full picture as last published, made on demand and kept until the next change. */
  private snapshot: Delta | undefined;
  /** Ids last published for instances that did not exist yet (shownTasks), and from which definition. */
  private unspawned = new Set<string>();
  private unspawnedFlow: WorkflowRuntime['flow'] | undefined;

  /**
   * Everything published so far as one `added` delta, for a new subscriber: the same object for
   * every subscriber until the next change, built from the views already held (no copies).
   */
  full(workflow: string): Delta {
    this.snapshot ??= {
      workflow,
      added: { ...(this.summary ? { workflow: this.summary } : {}), tasks: [...this.tasks.values()] },
    };
    return this.snapshot;
  }

  /** The delta since the last call, or undefined when nothing visible changed. */
  next(rt: WorkflowRuntime, store: EngineStore): Delta | undefined {
    const delta: Delta = { workflow: rt.id };
    const ctx = viewContext(rt, store);
    const added: TaskView[] = [];
    const updated: TaskUpdate[] = [];
    const unspawned = unspawnedWindow(rt);
    const shown = withUnspawned(rt, unspawned);
    // The first time, every task: those loaded from the store were never marked as changed.
    const ids = new Set(this.summary ? rt.dirtyTasks : shown.keys());
    // Instances not made yet come and go without a change of their own (a definition or the
    // window moved, a run began or ended); their views depend on the definition.
    const sameFlow = this.unspawnedFlow === rt.flow;
    for (const inst of unspawned) if (!sameFlow || rt.allViewsDirty || !this.unspawned.has(inst.id)) ids.add(inst.id);
    rt.allViewsDirty = false;
    const stillShown = new Set(unspawned.map((inst) => inst.id));
    for (const id of this.unspawned) if (!stillShown.has(id)) rt.prunedTasks.add(id);
    if (!sameFlow || stillShown.size !== this.unspawned.size || [...stillShown].some((id) => !this.unspawned.has(id))) rt.summaryDirty = true;
    this.unspawned = stillShown;
    this.unspawnedFlow = rt.flow;
    for (const id of ids) {
      const inst = shown.get(id);
      if (!inst) continue;
      const view = taskView(inst, ctx);
      const before = this.tasks.get(id);
      this.tasks.set(id, view);
      if (!before) {
        added.push(view);
        this.edgesStale = true;
      } else {
        const changed = changedFields(before, view);
        if (changed) updated.push({ ...changed, id });
      }
    }
    rt.dirtyTasks.clear();
    // An id gone and back since the last delta (an instance made for a task shown before it
    // existed, a definition reloaded) is still there: its view was compared above.
    const pruned = [...rt.prunedTasks].filter((id) => !shown.has(id) && this.tasks.delete(id));
    rt.prunedTasks.clear();
    if (pruned.length) this.edgesStale = true;
    if (rt.summaryDirty) {
      rt.summaryDirty = false;
      const summary = workflowSummary(rt, this.edges(rt, shown), unspawned.length);
      if (!this.summary) delta.added = { workflow: summary };
      else {
        const changed = changedFields(this.summary, summary);
        if (changed) delta.updated = { workflow: changed };
      }
      this.summary = summary;
    }
    if (added.length) delta.added = { ...delta.added, tasks: added };
    if (updated.length) delta.updated = { ...delta.updated, tasks: updated };
    if (pruned.length) delta.pruned = { tasks: pruned };
    if (!(delta.added || delta.updated || delta.pruned)) return undefined;
    this.snapshot = undefined;
    return delta;
  }

  /**
   * The edges: those published last time unless tasks came or went or the definition changed;
   * when tasks changed them less than EDGES_GAP_MS after the last time, still those (and then
   * `edgesDueAt` says when the new ones are owed), unless there were no tasks then.
   */
  private edges(rt: WorkflowRuntime, shown: ReadonlyMap<string, TaskInstance>): GraphEdge[] {
    const sameFlow = this.graphFlow === rt.flow;
    this.graphFlow = rt.flow;
    const published = this.summary?.edges;
    if (published && sameFlow && !this.edgesStale) return published;
    const now = performance.now();
    // The first tasks of a run (none when the edges were last worked out) bring theirs at once.
    if (published && sameFlow && this.edgesHadTasks && now < this.edgesAt + EDGES_GAP_MS) {
      this.edgesDueAt = this.edgesAt + EDGES_GAP_MS;
      return published;
    }
    this.edgesAt = now;
    this.edgesDueAt = undefined;
    this.edgesStale = false;
    this.edgesHadTasks = shown.size > 0;
    return graphEdges(rt, shown);
  }

  /** Edges held back are due now (a new subscriber's first burst should not wait for them). */
  edgesDueNow(): void {
    if (this.edgesDueAt !== undefined) this.edgesAt = Number.NEGATIVE_INFINITY;
  }
}

/**
 * The fields of `after` that differ from `before` (a field that disappeared is sent as null so
 * that clients can clear it), or undefined when nothing differs.
 */
function changedFields<T extends object>(before: T, after: T): Partial<T> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  const b4 = before as Record<string, unknown>;
  const now = after as Record<string, unknown>;
  for (const key of Object.keys(before)) {
    if (!(key in now)) {
      out[key] = null;
      any = true;
    }
  }
  for (const key of Object.keys(after)) {
    if (sameJson(b4[key], now[key])) continue;
    out[key] = now[key] === undefined ? null : now[key];
    any = true;
  }
  return any ? (out as Partial<T>) : undefined;
}

/** Whether two plain JSON values are equal (views hold nothing else): no serialising to compare. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameJson(item, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => k in b && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
