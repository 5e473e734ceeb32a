/**
 * Turns the engine's delta listener into the async iterator a GraphQL subscription needs. The
 * listener's promise resolves only when the subscriber has taken the delta, so a slow client
 * makes the engine merge changes instead of this queue growing without bound.
 */
import type { WorkflowEngine } from '../scheduler/index.js';
import type { Delta } from '../scheduler/types.js';
import { streamIterator } from './stream-iterator.js';

type Event = { deltas: Delta };

export function deltaStream(engine: WorkflowEngine, workflows: string[] | null): AsyncIterableIterator<Event> {
  const queue: { delta: Delta; taken: () => void }[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const unsubscribe = engine.subscribe(workflows, (delta) => {
    if (done) return;
    return new Promise<void>((taken) => {
      queue.push({ delta, taken });
      wake?.();
    });
  });
  const finish = (): IteratorReturnResult<undefined> => {
    if (!done) {
      done = true;
      unsubscribe();
      for (const item of queue.splice(0)) item.taken();
      wake?.();
    }
    return { done: true, value: undefined };
  };
  const next = async (): Promise<IteratorResult<Event>> => {
    while (!done && queue.length === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    const item = queue.shift();
    if (done || !item) return finish();
    item.taken();
    return { done: false, value: { deltas: item.delta } };
  };
  return streamIterator(next, finish);
}
