/**
 * Turns the engine's delta listener into the async iterator a GraphQL subscription needs. The
 * listener's promise resolves only when the subscriber asks for the delta after it, so a slow
 * client makes the engine merge changes instead of this queue growing without bound.
 *
 * With a viewer, only workflows the viewer may read are sent, decided afresh for every delta. When
 * permissions change, a workflow that is no longer readable gets a `pruned` delta at once and
 * nothing more; when one becomes readable, the stream subscribes to the engine again, so that a
 * full `added` burst brings the client up to date (an `added` replaces what the client held).
 */
import type { WorkflowEngine } from '../scheduler/index.js';
import type { Delta } from '../scheduler/types.js';
import { streamIterator } from './stream-iterator.js';
import type { ChangeFeed, ViewerAccess } from './viewer.js';

type Event = { deltas: Delta };

/**
 * One event object per delta, whichever stream passes it on: subscribers that keep up receive the
 * very delta the engine published, and so the same event, whose GraphQL result the server can
 * then make once for all of them (src/server/subscription-frames.ts).
 */
const events = new WeakMap<Delta, Event>();

function eventOf(delta: Delta): Event {
  let event = events.get(delta);
  if (!event) events.set(delta, (event = { deltas: delta }));
  return event;
}

/** Whether `event` came from a delta stream: the same object for everyone given that delta. */
export function isDeltaEvent(event: unknown): event is object {
  if (typeof event !== 'object' || event === null || !('deltas' in event)) return false;
  return events.get(event.deltas as Delta) === event;
}

/** Whose view a stream follows, and when to look again. */
export interface DeltaView {
  viewer: ViewerAccess;
  changes: ChangeFeed;
}

const nothingToRelease = (): void => undefined;

export function deltaStream(engine: WorkflowEngine, workflows: string[] | null, view: DeltaView): AsyncIterableIterator<Event> {
  const queue: { delta: Delta; taken: () => void }[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  /** The delta handed out last: released once the caller asks for another, not before. */
  let handedOut: (() => void) | undefined;
  // One decision per workflow until something that decides changes (recheck clears it): not one
  // per delta. Every input of the decision (sharing, site settings, membership) fires `changes`.
  const decided = new Map<string, boolean>();
  const readable = (workflow: string): boolean => {
    let may = decided.get(workflow);
    if (may === undefined) decided.set(workflow, (may = view.viewer.mayRead(workflow)));
    return may;
  };
  /** Workflows this subscriber has been shown and not told are gone. */
  const shown = new Set<string>();
  /** Every workflow in scope the engine has told of, readable or not (no need to ask it again). */
  const known = new Set<string>();

  const subscribeEngine = (): (() => void) =>
    engine.subscribe(workflows, (delta) => {
      if (delta.pruned?.workflow) known.delete(delta.workflow);
      else known.add(delta.workflow);
      if (done || !readable(delta.workflow)) return;
      if (delta.pruned?.workflow) shown.delete(delta.workflow);
      else shown.add(delta.workflow);
      return new Promise<void>((taken) => {
        queue.push({ delta, taken });
        wake?.();
      });
    });
  let unsubscribe = subscribeEngine();

  const releaseQueue = (keep: (delta: Delta) => boolean): void => {
    const kept = queue.filter((item) => keep(item.delta));
    for (const item of queue) if (!kept.includes(item)) item.taken();
    queue.splice(0, queue.length, ...kept);
  };

  const recheck = (): void => {
    if (done) return;
    decided.clear();
    const lost = [...shown].filter((workflow) => !readable(workflow));
    const gained = [...known].some((id) => !shown.has(id) && readable(id));
    // Pruned notices already queued stay; a resubscription's burst supersedes everything else.
    releaseQueue((delta) => delta.pruned?.workflow === true || (readable(delta.workflow) && !gained));
    for (const workflow of lost) {
      shown.delete(workflow);
      queue.push({ delta: { workflow, pruned: { workflow: true } }, taken: nothingToRelease });
    }
    if (gained) {
      unsubscribe();
      unsubscribe = subscribeEngine();
    }
    wake?.();
  };
  const stopWatching = view.changes.onChange(recheck);

  const finish = (): IteratorReturnResult<undefined> => {
    if (!done) {
      done = true;
      stopWatching();
      unsubscribe();
      handedOut?.();
      releaseQueue(() => false);
      wake?.();
    }
    return { done: true, value: undefined };
  };
  const next = async (): Promise<IteratorResult<Event>> => {
    // The caller (the socket writer) asks again only when its client has read the last message:
    // until then the engine merges whatever changes, so what goes next is the latest, not a
    // delta taken a round earlier that has waited here meanwhile.
    handedOut?.();
    handedOut = undefined;
    while (!done && queue.length === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    const item = queue.shift();
    if (done || !item) return finish();
    handedOut = item.taken;
    return { done: false, value: eventOf(item.delta) };
  };
  return streamIterator(next, finish);
}
