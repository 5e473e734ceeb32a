/**
 * How deltas are spaced (scheduler/engine.ts `changed`): a change after a quiet spell goes out on
 * the next turn of the event loop; one within 15 ms of the last delta waits for that gap; once a
 * delta has had to wait, deltas are 40 ms apart until a quiet spell that long. Run on fake clocks
 * (timers and `performance.now`), so that what is checked is which delta carries which change,
 * never how long anything took.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Delta } from '../../src/scheduler/index.js';
import { Sandbox, ok, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  vi.useRealTimers();
  await box.cleanup();
});

// Tasks that wait on an external trigger: holding and releasing them changes state without a job.
const WAITING = `tasks:\n${Array.from({ length: 6 }, (_, i) => `  t${i}: { script: "true", xtrigger: go }`).join('\n')}\n`;

describe('delta pacing', () => {
  it('sends a change after a quiet spell at once, holds one inside 15 ms for the gap, and spaces a busy spell 40 ms apart', async () => {
    box.writeFlow('p', WAITING);
    const engine = await box.engine();
    await ok(engine, 'play', 'p');
    await waitStatus(engine, 'p', 'running');
    const deltas: Delta[] = [];
    engine.subscribe(['p'], (d) => void deltas.push(d));
    await vi.waitFor(() => expect(deltas.length).toBeGreaterThan(0));
    // The fake clock's performance.now() starts again from zero: past the last real delta first.
    const realNow = performance.now();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    await vi.advanceTimersByTimeAsync(realNow + 1_000);
    expect(performance.now()).toBeGreaterThan(realNow);
    deltas.length = 0;
    /** The held flags the deltas so far carry, in order. */
    const heldChanges = () => deltas.flatMap((d) => (d.updated?.tasks ?? []).filter((t) => t.held !== undefined).map((t) => `${t.id}:${t.held}`));

    // Quiet before: out on the next turn.
    await ok(engine, 'hold', 'p', ['1/t0']);
    await vi.advanceTimersByTimeAsync(0);
    expect(heldChanges()).toEqual(['1/t0:true']);

    // Within 15 ms of that delta: waits for the gap.
    await vi.advanceTimersByTimeAsync(5);
    await ok(engine, 'hold', 'p', ['1/t1']);
    await vi.advanceTimersByTimeAsync(9);
    expect(heldChanges()).toEqual(['1/t0:true']);
    await vi.advanceTimersByTimeAsync(1);
    expect(heldChanges()).toEqual(['1/t0:true', '1/t1:true']);

    // A busy spell now: the next changes wait for 40 ms after the last delta, and go out together.
    await ok(engine, 'hold', 'p', ['1/t2']);
    await vi.advanceTimersByTimeAsync(20);
    await ok(engine, 'hold', 'p', ['1/t3']);
    await vi.advanceTimersByTimeAsync(19);
    expect(heldChanges()).toEqual(['1/t0:true', '1/t1:true']);
    await vi.advanceTimersByTimeAsync(1);
    expect(heldChanges()).toEqual(['1/t0:true', '1/t1:true', '1/t2:true', '1/t3:true']);
    const busyDelta = deltas.at(-1)!;
    expect(busyDelta.updated?.tasks?.map((t) => t.id).sort()).toEqual(['1/t2', '1/t3']);

    // After a quiet spell of 40 ms: at once again, and the spell is over (the next waits 15 ms, not 40).
    await vi.advanceTimersByTimeAsync(40);
    await ok(engine, 'release', 'p', ['1/t0']);
    await vi.advanceTimersByTimeAsync(0);
    expect(heldChanges().at(-1)).toBe('1/t0:false');
    await ok(engine, 'release', 'p', ['1/t1']);
    await vi.advanceTimersByTimeAsync(14);
    expect(heldChanges().at(-1)).toBe('1/t0:false');
    await vi.advanceTimersByTimeAsync(1);
    expect(heldChanges().at(-1)).toBe('1/t1:false');
  });
});
