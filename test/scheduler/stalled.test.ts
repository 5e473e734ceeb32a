import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delta } from '../../src/scheduler/index.js';
import { Sandbox, ok, task, waitFor, waitState, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});

// `a` fails until the file `fixed` exists in the run directory (its working directory).
const FLOW = 'tasks:\n  a: { script: "test -f fixed" }\n  b: { script: "echo b", depends: [a] }\n';

describe('a stalled workflow (Cylc 8)', () => {
  it('stays up as stalled (in views and deltas) and a trigger of its failed task re-runs it and finishes the run', async () => {
    box.writeFlow('s', FLOW);
    const engine = await box.engine();
    const statuses: string[] = [];
    engine.subscribe(['s'], (d: Delta) => {
      const status = d.updated?.workflow?.status ?? d.added?.workflow?.status;
      if (status) statuses.push(status);
    });
    await ok(engine, 'play', 's');
    const stalled = await waitStatus(engine, 's', 'stalled');
    expect(stalled.lastRun).toBeNull();
    expect(task(engine, 's', '1/a')).toMatchObject({ state: 'failed', submitNum: 1 });
    expect(task(engine, 's', '1/b')!.state).toBe('waiting');
    await waitFor('subscribers to be told it stalled', () => statuses.includes('stalled'));
    expect(engine.workflowLog('s').some((e) => e.kind === 'stall' && /1 task\(s\) failed/.test(e.text))).toBe(true);

    writeFileSync(join(box.runDir('s'), 'fixed'), '');
    expect(await ok(engine, 'trigger', 's', ['1/a'])).toMatch(/triggered: 1\/a/);
    expect((await waitState(engine, 's', '1/a', 'succeeded')).submitNum).toBe(2);
    await waitState(engine, 's', '1/b', 'succeeded');
    const done = await waitStatus(engine, 's', 'stopped');
    expect(done.lastRun).toMatchObject({ outcome: 'complete', succeeded: 2, failed: 0, summary: 'completed: 2 succeeded' });
    expect(statuses).toContain('running');
  });

  it('stops after the stall timeout, its run recorded as stopped after stalling', async () => {
    box.writeFlow('s', FLOW);
    const engine = await box.engine({ stallTimeoutSeconds: 0.5 });
    await ok(engine, 'play', 's');
    await waitStatus(engine, 's', 'stalled');
    const stopped = await waitStatus(engine, 's', 'stopped');
    expect(stopped.lastRun).toMatchObject({ outcome: 'stall-timeout', succeeded: 0, failed: 1, summary: 'stopped after stalling: 0 succeeded, 1 failed, 1 never ran' });
    expect(engine.workflowLog('s').some((e) => e.kind === 'status' && /stall timeout/.test(e.text))).toBe(true);
  });

  it('counts the stall timeout from when it stalled, across an engine restart', async () => {
    box.writeFlow('s', FLOW);
    const first = await box.engine();
    await ok(first, 'play', 's');
    await waitStatus(first, 's', 'stalled');
    await first.close();
    // As if it had stalled an hour ago: a ten-minute timeout is long over.
    const db = new Database(join(box.ownerDir, '.flotilla', 'engine.sqlite'));
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    expect(db.prepare("UPDATE events SET at = ? WHERE workflow = 's' AND kind = 'status' AND text LIKE 'stalled%'").run(hourAgo).changes).toBe(1);
    db.close();
    const second = await box.engine({ stallTimeoutSeconds: 600 });
    const stopped = await waitStatus(second, 's', 'stopped');
    expect(stopped.lastRun).toMatchObject({ outcome: 'stall-timeout' });
  });

  it('refuses a negative stall timeout', async () => {
    await expect(box.engine({ stallTimeoutSeconds: -1 })).rejects.toThrow(/stallTimeoutSeconds must be a number ≥ 0/);
  });
});
