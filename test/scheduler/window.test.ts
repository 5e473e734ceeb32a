// Where the runahead window starts: at the lowest cycle point with unfinished work, or past the
// highest it has spawned (recorded), whatever instances hold, set, remove, trigger or a reload
// made or dropped around it. Judged by what runs.
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, ok, states, waitFor, waitState, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});
/** The workflow log's job ends, oldest first, without their folders. */
const ran = (e: Awaited<ReturnType<Sandbox['engine']>>, w: string) =>
  e.workflowLog(w, 1000).filter((x) => x.kind === 'submit-failed' || x.kind === 'succeeded').map((x) => x.text.replace(/ \/tmp\S*/, ''));

describe('the runahead window and what runs', () => {
  it.each(['set_outputs', 'remove'])('%s of 1/a before the first play: play still runs 1/b', async (op) => {
    box.writeFlow('w', 'cycles: 3\nrunahead: 2\ntasks:\n  a: { script: "true" }\n  b: { script: "true" }\n');
    const engine = await box.engine();
    await ok(engine, op, 'w', ['1/a'], op === 'set_outputs' ? { outputs: ['succeeded'] } : undefined);
    await ok(engine, 'play', 'w');
    await waitStatus(engine, 'w', 'stopped');
    expect(states(engine, 'w')['1/b']).toBe('succeeded');
  });

  // A run of `a` over cycle points 1-2, then of `a` and `b` over 3 (1 and 2 done already), then reloads.
  const A_AND_B = 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "true" }\n  b: { script: "true" }\n';
  const B_ONLY = 'cycles: 3\nrunahead: 1\ntasks:\n  b: { script: "true" }\n';
  it.each([
    { what: 'removed from a completed workflow', reloads: [B_ONLY] },
    { what: 'removed and restored', reloads: [B_ONLY, A_AND_B] },
  ])('a task $what by reload: play neither runs anything again nor stalls', async ({ reloads }) => {
    const file = box.writeFlow('r', 'cycles: 2\nrunahead: 1\ntasks:\n  a: { script: "true" }\n');
    const engine = await box.engine({ stallTimeoutSeconds: 1 });
    await ok(engine, 'play', 'r');
    await waitStatus(engine, 'r', 'stopped');
    writeFileSync(file, A_AND_B);
    await ok(engine, 'reload', 'r');
    await ok(engine, 'play', 'r');
    await waitStatus(engine, 'r', 'stopped');
    for (const flow of reloads) {
      writeFileSync(file, flow);
      await ok(engine, 'reload', 'r');
    }
    const before = ran(engine, 'r').length;
    await ok(engine, 'play', 'r');
    await waitStatus(engine, 'r', 'stopped');
    expect(ran(engine, 'r').slice(before)).toEqual([]);
    expect(engine.getWorkflow('r')!.lastRun?.outcome).toBe('complete');
  });

  it('a message to a task at an old cycle point (added by reload) runs nothing', async () => {
    const file = box.writeFlow('m', 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'm');
    await waitStatus(engine, 'm', 'stopped');
    writeFileSync(file, 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "true" }\n  b: { script: "true" }\n');
    await ok(engine, 'reload', 'm');
    const [r] = await engine.command('message', { workflows: ['m'], tasks: ['1/b'], args: { severity: 'INFO', text: 'note' }, by: 't' });
    const before = ran(engine, 'm').length;
    await ok(engine, 'play', 'm');
    await waitStatus(engine, 'm', 'stopped');
    expect({ message: r!.ok, ran: ran(engine, 'm').slice(before) }).toEqual({ message: r!.ok, ran: [] });
  });

  it('a message to a task at an old cycle point of a running workflow runs nothing there', async () => {
    const file = box.writeFlow('m', 'cycles: 4\nrunahead: 1\ntasks:\n  a: { script: "sleep 0.4" }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'm');
    await waitState(engine, 'm', '3/a', 'running');
    writeFileSync(file, 'cycles: 4\nrunahead: 1\ntasks:\n  a: { script: "sleep 0.4" }\n  b: { script: "true" }\n');
    await ok(engine, 'reload', 'm');
    await engine.command('message', { workflows: ['m'], tasks: ['1/b'], args: { severity: 'INFO', text: 'note' }, by: 't' });
    await waitStatus(engine, 'm', 'stopped');
    expect(ran(engine, 'm').filter((t) => /^[12]\/b/.test(t))).toEqual([]);
  });

  it.each([false, true])('a job left running by stop now is judged by the definition it was played with (engine restarted: %s)', async (restart) => {
    const file = box.writeFlow('s', 'tasks:\n  a: { script: "sleep 0.8; exit 1", retries: 0 }\n');
    let engine = await box.engine();
    await ok(engine, 'play', 's');
    await waitState(engine, 's', '1/a', 'running');
    writeFileSync(file, 'tasks:\n  a: { script: "sleep 0.8; exit 1", retries: 2 }\n');
    // Time for the folder scan to read the edit (it changes nothing while the workflow runs).
    await new Promise((r) => setTimeout(r, 300));
    await ok(engine, 'stop', 's', [], { mode: 'now' });
    if (restart) {
      await engine.close();
      engine = await box.engine();
    }
    const now = engine;
    await waitFor('1/a ended', () => (states(now, 's')['1/a'] !== 'running' ? true : undefined), 5000);
    expect(states(now, 's')['1/a']).toBe('failed');
  });
});

const dbFile = () => join(box.ownerDir, '.flotilla', 'engine.sqlite');

describe('the window across an older store, reload, clean and finished cycle points', () => {
  it('an older store (no record of the window) with a task held ahead before play: play runs cycle points 1 and 2', async () => {
    box.writeFlow('o', 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "true" }\n');
    let engine = await box.engine();
    await ok(engine, 'set_verbosity', 'o', [], { level: 'DEBUG' }); // the workflow row exists, as after any earlier run
    await ok(engine, 'hold', 'o', ['3/a']);
    await engine.close();
    // The store as the previous version left it: no spawned_through column.
    const db = new Database(dbFile());
    db.exec('ALTER TABLE workflows DROP COLUMN spawned_through');
    db.close();
    engine = await box.engine();
    await ok(engine, 'play', 'o');
    await ok(engine, 'release', 'o', ['3/a']);
    await waitStatus(engine, 'o', 'stopped');
    expect(ran(engine, 'o')).toEqual(['1/a: job 1 succeeded', '2/a: job 1 succeeded', '3/a: job 1 succeeded']);
  });

  it('an older store gets the record as an INTEGER column that reads back as a number', async () => {
    box.writeFlow('n', 'cycles: 2\nrunahead: 1\ntasks:\n  a: { script: "true" }\n');
    let engine = await box.engine();
    await ok(engine, 'set_verbosity', 'n', [], { level: 'DEBUG' });
    await engine.close();
    const db = new Database(dbFile());
    db.exec('ALTER TABLE workflows DROP COLUMN spawned_through');
    db.close();
    engine = await box.engine();
    await ok(engine, 'play', 'n');
    await waitStatus(engine, 'n', 'stopped');
    await engine.close();
    const check = new Database(dbFile(), { readonly: true });
    const row = check.prepare("SELECT spawned_through, typeof(spawned_through) AS t FROM workflows WHERE name = 'n'").get() as { spawned_through: unknown; t: string };
    const type = check.prepare("SELECT type FROM pragma_table_info('workflows') WHERE name = 'spawned_through'").get() as { type: string };
    check.close();
    expect({ row, type: type.type }).toEqual({ row: { spawned_through: 2, t: 'integer' }, type: 'INTEGER' });
  });

  it.each([false, true])('a reload after stop now: the jobs still running take the reloaded definition, restart or not (restart: %s)', async (restart) => {
    const file = box.writeFlow('s', 'tasks:\n  a: { script: "sleep 1; exit 1", retries: 0 }\n');
    let engine = await box.engine();
    await ok(engine, 'play', 's');
    await waitState(engine, 's', '1/a', 'running');
    await ok(engine, 'stop', 's', [], { mode: 'now' });
    writeFileSync(file, 'tasks:\n  a: { script: "sleep 1; exit 1", retries: 2 }\n');
    await ok(engine, 'reload', 's'); // asked for explicitly: the run's jobs now take the reloaded definition
    if (restart) {
      await engine.close();
      engine = await box.engine();
    }
    const now = engine;
    await waitFor('1/a ended', () => (states(now, 's')['1/a'] !== 'running' ? true : undefined), 5000);
    // Without a restart the reloaded definition (retries: 2) judges the exit: 1/a goes back to waiting.
    expect(states(now, 's')['1/a']).toBe('waiting');
  });

  it('clean after a restart whose adopted job ended unnoticed takes flow.yaml\'s definition', async () => {
    const file = box.writeFlow('c', 'tasks:\n  a: { script: "sleep 0.6" }\n');
    let engine = await box.engine();
    await ok(engine, 'play', 'c');
    await waitState(engine, 'c', '1/a', 'running');
    writeFileSync(file, 'tasks:\n  z: { script: "true" }\n');
    await ok(engine, 'stop', 'c', [], { mode: 'now' });
    await engine.close();
    engine = await box.engine({ pollIntervalMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1200)); // the job ends; no poll notices before clean
    await ok(engine, 'clean', 'c');
    await new Promise((r) => setTimeout(r, 300));
    expect(engine.getWorkflow('c')!.tasks.map((t) => t.id)).toEqual(['1/z']);
    await ok(engine, 'hold', 'c', ['1/z']); // hold of a task flow.yaml has is refused while the old definition is in use
  });

  it('remove of 2/a while 1/a runs: the run goes on to 3/a instead of completing', async () => {
    box.writeFlow('r', 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "sleep 0.5" }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'r');
    await waitState(engine, 'r', '1/a', 'running');
    await ok(engine, 'remove', 'r', ['2/a']);
    await waitStatus(engine, 'r', 'stopped');
    expect(ran(engine, 'r')).toEqual(['1/a: job 1 succeeded', '3/a: job 1 succeeded']);
  });

  it('remove of 1/a (every task of cycle point 1) before the first play: play runs 2/a and 3/a', async () => {
    box.writeFlow('p', 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    await ok(engine, 'remove', 'p', ['1/a']);
    await ok(engine, 'play', 'p');
    await waitStatus(engine, 'p', 'stopped');
    expect(ran(engine, 'p')).toEqual(['2/a: job 1 succeeded', '3/a: job 1 succeeded']);
  });
});
