/**
 * Fans deltas out to subscribers. Each subscriber has its own pending buffer holding at most one
 * entry per workflow and per task id: new changes merge into what it has not yet received, so a
 * slow subscriber costs memory proportional to the workflows' size, never to time, and never
 * holds up the scheduler or anyone else.
 *
 * A subscriber that keeps up receives each delta as the very object that was published: every such
 * subscriber holds the same one, so what is derived from it (the GraphQL result, its JSON) can be
 * made once for all of them. A subscriber that fell behind gets a merged delta, the same object as
 * every other subscriber that fell behind at the same delta and takes at the same point. Those
 * that fell behind at the same published delta also share the merge while it grows: each later
 * delta is merged once for all of them, not once each (with hundreds of slow readers, that was
 * hundreds of copies of the same merge).
 */
import type { Logger } from '../util/logger.js';
import type { Delta, DeltaListener, TaskUpdate, TaskView, WorkflowSummary } from './types.js';

type TaskEntry = { kind: 'added'; data: TaskView } | { kind: 'updated'; data: TaskUpdate } | { kind: 'pruned' };

/** Several deltas of one workflow that a subscriber has not taken yet, merged into one. */
class Merged {
  /**
   * The first and the last delta merged: a subscriber's pending deltas of a workflow are all that
   * was published for it since the first, so two with the same first and last hold the same merge.
   */
  constructor(readonly first: Delta, public last: Delta) {}
  added?: WorkflowSummary;
  updated?: Partial<WorkflowSummary>;
  pruned = false;
  readonly tasks = new Map<string, TaskEntry>();
}

interface Subscriber {
  filter: ReadonlySet<string> | null;
  listener: DeltaListener;
  /** Per workflow: the one delta published since the last it took (as published), or a merge of several. */
  pending: Map<string, Delta | Merged>;
  busy: boolean;
  closed: boolean;
}

export class DeltaHub {
  private readonly subscribers = new Set<Subscriber>();
  /** Subscribers with something pending and no delivery under way: drained together, once. */
  private readonly ready = new Set<Subscriber>();
  /** Deltas handed to listeners so far (for benchmarks and health figures). */
  delivered = 0;
  /**
   * Merges made so far, by first and last delta: subscribers that fell behind together get the
   * same merged object, whose result the server then makes once for all of them too. Held only as
   * long as the first delta is.
   */
  private readonly merges = new WeakMap<Delta, Map<Delta, { delta: Delta | undefined }>>();
  /**
   * Deltas published to every subscriber in order (not a subscriber's own initial burst), and the
   * growing merge that starts at each: subscribers holding the same published delta have been
   * handed the same deltas since, so they can hold one merge.
   */
  private readonly published = new WeakSet<Delta>();
  private readonly growing = new WeakMap<Delta, Merged>();

  constructor(private readonly logger: Logger) {}

  subscribe(filter: string[] | null, initial: Delta[], listener: DeltaListener): () => void {
    const sub: Subscriber = { filter: filter ? new Set(filter) : null, listener, pending: new Map(), busy: false, closed: false };
    this.subscribers.add(sub);
    for (const delta of initial) this.enqueue(sub, delta);
    return () => {
      sub.closed = true;
      sub.pending.clear();
      this.subscribers.delete(sub);
      this.ready.delete(sub);
    };
  }

  publish(delta: Delta): void {
    this.published.add(delta);
    for (const sub of this.subscribers) this.enqueue(sub, delta);
  }

  private enqueue(sub: Subscriber, delta: Delta): void {
    if (sub.filter && !sub.filter.has(delta.workflow)) return;
    const pending = sub.pending.get(delta.workflow);
    if (!pending) sub.pending.set(delta.workflow, delta);
    else if (pending instanceof Merged) {
      // Shared with others behind since the same delta: merged once, by the first of them.
      if (pending.last !== delta) {
        merge(pending, delta);
        pending.last = delta;
      }
    } else sub.pending.set(delta.workflow, this.mergeFrom(pending, delta));
    if (!sub.busy) {
      sub.busy = true;
      // After the publisher's turn (never inside it), but before any I/O: one microtask for all.
      if (this.ready.size === 0) queueMicrotask(() => this.drainReady());
      this.ready.add(sub);
    }
  }

  /** The merge of `first` and `delta`: the one already made for another subscriber when `first` was published to all. */
  private mergeFrom(first: Delta, delta: Delta): Merged {
    const shareable = this.published.has(first);
    const shared = shareable ? this.growing.get(first) : undefined;
    if (shared?.last === delta) return shared;
    const merged = new Merged(first, delta);
    merge(merged, first);
    merge(merged, delta);
    if (shareable) this.growing.set(first, merged);
    return merged;
  }

  private drainReady(): void {
    const ready = [...this.ready];
    this.ready.clear();
    for (const sub of ready) this.drain(sub);
  }

  private drain(sub: Subscriber): void {
    while (!sub.closed) {
      const next = sub.pending.entries().next();
      if (next.done) break;
      const [workflow, pending] = next.value;
      sub.pending.delete(workflow);
      const delta = pending instanceof Merged ? this.merged(workflow, pending) : pending;
      if (!delta) continue;
      this.delivered++;
      let result: void | Promise<void>;
      try {
        result = sub.listener(delta);
      } catch (err) {
        this.logger.warn({ err }, 'delta subscriber threw');
        continue;
      }
      if (result && typeof result.then === 'function') {
        // Wait for this subscriber only; whatever changes meanwhile merges into its buffer.
        result.then(
          () => this.drain(sub),
          (err: unknown) => {
            this.logger.warn({ err }, 'delta subscriber failed');
            this.drain(sub);
          },
        );
        return;
      }
    }
    sub.busy = false;
  }

  private merged(workflow: string, pending: Merged): Delta | undefined {
    let byLast = this.merges.get(pending.first);
    if (!byLast) this.merges.set(pending.first, (byLast = new Map()));
    let made = byLast.get(pending.last);
    if (!made) byLast.set(pending.last, (made = { delta: toDelta(workflow, pending) }));
    return made.delta;
  }
}

function merge(p: Merged, delta: Delta): void {
  if (delta.pruned?.workflow) {
    p.added = undefined;
    p.updated = undefined;
    p.pruned = true;
    p.tasks.clear();
    return;
  }
  if (delta.added?.workflow) {
    p.added = delta.added.workflow;
    p.updated = undefined;
    p.pruned = false;
  }
  const wfUpdate = delta.updated?.workflow;
  if (wfUpdate) {
    if (p.added) p.added = { ...p.added, ...wfUpdate };
    else p.updated = { ...p.updated, ...wfUpdate };
  }
  for (const task of delta.added?.tasks ?? []) p.tasks.set(task.id, { kind: 'added', data: task });
  for (const update of delta.updated?.tasks ?? []) {
    const entry = p.tasks.get(update.id);
    if (!entry) p.tasks.set(update.id, { kind: 'updated', data: update });
    else if (entry.kind === 'added') p.tasks.set(update.id, { kind: 'added', data: { ...entry.data, ...update } });
    else if (entry.kind === 'updated') p.tasks.set(update.id, { kind: 'updated', data: { ...entry.data, ...update } });
  }
  for (const id of delta.pruned?.tasks ?? []) p.tasks.set(id, { kind: 'pruned' });
}

function toDelta(workflow: string, p: Merged): Delta | undefined {
  const added: TaskView[] = [];
  const updated: TaskUpdate[] = [];
  const pruned: string[] = [];
  for (const [id, entry] of p.tasks) {
    if (entry.kind === 'added') added.push(entry.data);
    else if (entry.kind === 'updated') updated.push(entry.data);
    else pruned.push(id);
  }
  const delta: Delta = { workflow };
  if (p.added || added.length) delta.added = { ...(p.added ? { workflow: p.added } : {}), ...(added.length ? { tasks: added } : {}) };
  if (p.updated || updated.length) delta.updated = { ...(p.updated ? { workflow: p.updated } : {}), ...(updated.length ? { tasks: updated } : {}) };
  if (p.pruned || pruned.length) delta.pruned = { ...(p.pruned ? { workflow: true as const } : {}), ...(pruned.length ? { tasks: pruned } : {}) };
  return delta.added || delta.updated || delta.pruned ? delta : undefined;
}
