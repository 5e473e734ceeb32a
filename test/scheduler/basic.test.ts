import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, ok, states, task, waitState, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});

describe('running a workflow', () => {
  it('runs jobs in order through every state, with logs and env, and stalls on a failed task until stopped', async () => {
    box.writeFlow('demo', `
description: Train and report
tasks:
  prep: { script: "echo preparing $FLOTILLA_WORKFLOW $FLOTILLA_TASK $FLOTILLA_CYCLE; pwd" }
  train: { script: "echo epochs=$EPOCHS; echo oops >&2", depends: [prep], env: { EPOCHS: 3 } }
  bad: { script: "exit 3", depends: [train] }
`);
    const engine = await box.engine();
    expect(engine.getWorkflow('demo')).toMatchObject({ status: 'stopped', lastRun: null, description: 'Train and report', cycles: 1 });
    expect(await ok(engine, 'play', 'demo')).toMatch(/started/);
    // A failed task with nothing left to run stalls the workflow (Cylc 8), which stays up.
    await waitStatus(engine, 'demo', 'stalled');
    expect(states(engine, 'demo')).toEqual({ '1/prep': 'succeeded', '1/train': 'succeeded', '1/bad': 'failed' });
    const bad = task(engine, 'demo', '1/bad')!;
    expect(bad).toMatchObject({ exitCode: 3, submitNum: 1, outputs: ['submitted', 'started', 'failed'] });
    const out = engine.jobLog({ workflow: 'demo', task: '1/prep', file: 'job.out' });
    expect(out.content).toContain('preparing demo prep 1');
    expect(out.content).toContain(box.runDir('demo'));
    // Relative to the owner's folder, so that no reader learns where it lives on disk.
    expect(out.path).toBe('runs/demo/log/job/1/prep/01/job.out');
    expect(out).toMatchObject({ truncated: false, size: Buffer.byteLength(out.content) });
    expect(engine.jobLog({ workflow: 'demo', task: '1/train', file: 'job.out' }).content).toBe('epochs=3\n');
    expect(engine.jobLog({ workflow: 'demo', task: '1/train', file: 'job.err' }).content).toBe('oops\n');
    expect(readFileSync(join(box.runDir('demo'), 'log/job/1/bad/01/job.status'), 'utf8').trim()).toBe('3');
    const log = engine.workflowLog('demo');
    expect(log.some((e) => e.kind === 'operation' && e.by === 'tester' && e.text.startsWith('play'))).toBe(true);
    expect(existsSync(box.runDir('demo'))).toBe(true);
    // Stopped after a run, it says how the run ended: unlike a workflow that never ran.
    await ok(engine, 'stop', 'demo');
    expect(engine.getWorkflow('demo')).toMatchObject({ status: 'stopped', lastRun: { outcome: 'stopped', succeeded: 2, failed: 1, summary: 'stopped: 2 succeeded, 1 failed' } });
  });
});

describe("a workflow's view", () => {
  it('works out its tasks and edges when they are first read (a list of workflows asks for neither), then keeps them', async () => {
    box.writeFlow('pair', `
tasks:
  first: { script: "sleep 60" }
  second: { script: "true", depends: [first] }
`);
    const engine = await box.engine();
    await ok(engine, 'play', 'pair');
    await waitState(engine, 'pair', '1/first', 'running');
    const view = engine.getWorkflow('pair')!;
    expect(view.id).toBe('pair');
    expect(Object.getOwnPropertyDescriptor(view, 'tasks')?.get).toBeDefined();
    expect(Object.getOwnPropertyDescriptor(view, 'edges')?.get).toBeDefined();
    const tasks = view.tasks;
    expect(view.tasks).toBe(tasks);
    expect(Object.getOwnPropertyDescriptor(view, 'tasks')?.get).toBeUndefined();
    expect(tasks.map((t) => [t.id, t.state])).toEqual([['1/first', 'running'], ['1/second', 'waiting']]);
    // Serialised (as a query's result is), both are there like any other field.
    const copy = JSON.parse(JSON.stringify(view));
    expect(copy.edges).toEqual([{ from: '1/first', to: '1/second' }]);
    expect(copy.tasks).toHaveLength(2);
    expect(engine.hasWorkflow('pair')).toBe(true);
    expect(engine.hasWorkflow('nothing')).toBe(false);
  });
});
