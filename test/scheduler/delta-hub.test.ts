/**
 * The delta hub's fan-out to slow subscribers: what each receives adds up to what was published,
 * and subscribers that fell behind together share one merge, both while it grows and when taken.
 */
import { describe, expect, it } from 'vitest';
import { DeltaHub } from '../../src/scheduler/deltas.js';
import type { Delta } from '../../src/scheduler/index.js';
import { silentLogger } from '../../src/util/logger.js';

const update = (id: string, state: string): Delta => ({ workflow: 'w', updated: { tasks: [{ id, state } as never] } });

/** A subscriber that holds each delivery until the test lets it go. */
function slowSubscriber(hub: DeltaHub) {
  const received: Delta[] = [];
  let release: (() => void) | undefined;
  hub.subscribe(['w'], [], (delta) => {
    received.push(delta);
    return new Promise<void>((resolve) => (release = resolve));
  });
  return { received, release: () => release?.() };
}

/** Two slow subscribers, both busy with a first delta (so what follows merges for each). */
async function twoBehind() {
  const hub = new DeltaHub(silentLogger());
  const a = slowSubscriber(hub);
  const b = slowSubscriber(hub);
  hub.publish(update('1/x', 'submitted'));
  await Promise.resolve();
  return { hub, a, b };
}

describe('DeltaHub', () => {
  it('gives subscribers behind since the same delta one merged object, built once', async () => {
    const { hub, a, b } = await twoBehind();
    expect(a.received).toHaveLength(1);
    // Both are busy with the first delta; three more come meanwhile.
    hub.publish(update('1/x', 'running'));
    hub.publish(update('1/y', 'submitted'));
    hub.publish(update('1/x', 'succeeded'));
    a.release();
    b.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.received).toHaveLength(2);
    expect(b.received[1]).toBe(a.received[1]);
    expect(a.received[1]!.updated!.tasks).toEqual([{ id: '1/x', state: 'succeeded' }, { id: '1/y', state: 'submitted' }]);
  });

  it('keeps a merge shared after one subscriber takes it, and the other gets what came since', async () => {
    const { hub, a, b } = await twoBehind();
    hub.publish(update('1/x', 'running'));
    hub.publish(update('1/y', 'submitted'));
    a.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.received[1]!.updated!.tasks).toEqual([{ id: '1/x', state: 'running' }, { id: '1/y', state: 'submitted' }]);
    // a took the merge; b still holds it as it grows.
    hub.publish(update('1/y', 'running'));
    b.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.received[1]!.updated!.tasks).toEqual([{ id: '1/x', state: 'running' }, { id: '1/y', state: 'running' }]);
    // What a took was not changed by the later merge.
    expect(a.received[1]!.updated!.tasks).toEqual([{ id: '1/x', state: 'running' }, { id: '1/y', state: 'submitted' }]);
    a.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.received[2]!.updated!.tasks).toEqual([{ id: '1/y', state: 'running' }]);
  });
});
