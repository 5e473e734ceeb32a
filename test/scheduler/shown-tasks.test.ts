import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delta, WorkflowEngine } from '../../src/scheduler/index.js';
import { Sandbox, ok, states, waitFor, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/** A strict client: applies every delta (a null field means "gone"), keeps summary and tasks. */
function strictMirror(slowMs = 0) {
  let summary: Record<string, unknown> | undefined;
  const tasks = new Map<string, Record<string, unknown>>();
  const deltas: Delta[] = [];
  const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
  const apply = (d: Delta) => {
    deltas.push(d);
    if (d.pruned?.workflow) {
      summary = undefined;
      tasks.clear();
      return slowMs ? new Promise<void>((r) => setTimeout(r, slowMs)) : undefined;
    }
    if (d.added?.workflow) summary = { ...(d.added.workflow as unknown as Record<string, unknown>) };
    if (d.updated?.workflow && summary) summary = strip({ ...summary, ...(d.updated.workflow as Record<string, unknown>) });
    for (const t of d.added?.tasks ?? []) tasks.set(t.id, strip({ ...(t as unknown as Record<string, unknown>) }));
    for (const t of d.updated?.tasks ?? []) tasks.set(t.id, strip({ ...tasks.get(t.id), ...(t as unknown as Record<string, unknown>) }));
    for (const id of d.pruned?.tasks ?? []) tasks.delete(id);
    return slowMs ? new Promise<void>((r) => setTimeout(r, slowMs)) : undefined;
  };
  return { apply, deltas, tasks, summary: () => summary };
}

const norm = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
const sortEdges = (e: unknown) => [...((e ?? []) as { from: string; to: string }[])].map((x) => `${x.from}>${x.to}`).sort();

/** What differs between the mirror and engine.getWorkflow(id) (empty when they agree). */
function differences(engine: WorkflowEngine, id: string, m: ReturnType<typeof strictMirror>): string[] {
  const view = engine.getWorkflow(id);
  const out: string[] = [];
  if (!view) {
    if (m.summary()) out.push('mirror still has the workflow');
    return out;
  }
  const s = m.summary();
  if (!s) return ['mirror has no workflow'];
  if (JSON.stringify(norm(s.stateCounts)) !== JSON.stringify(norm(view.stateCounts))) out.push(`stateCounts ${JSON.stringify(s.stateCounts)} vs ${JSON.stringify(view.stateCounts)}`);
  if (s.status !== view.status) out.push(`status ${String(s.status)} vs ${view.status}`);
  if (JSON.stringify(sortEdges(s.edges)) !== JSON.stringify(sortEdges(view.edges))) out.push(`edges ${sortEdges(s.edges).join(',')} vs ${sortEdges(view.edges).join(',')}`);
  const want = new Map(view.tasks.map((t) => [t.id, norm(t) as Record<string, unknown>]));
  for (const idt of new Set([...want.keys(), ...m.tasks.keys()])) {
    const a = m.tasks.get(idt);
    const b = want.get(idt);
    if (!a) out.push(`mirror lacks ${idt}`);
    else if (!b) out.push(`mirror has extra ${idt}`);
    else {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${idt}.${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`);
      }
    }
  }
  return out;
}

async function converged(engine: WorkflowEngine, id: string, m: ReturnType<typeof strictMirror>, what: string, ms = 3000) {
  let last: string[] = [];
  try {
    await waitFor(what, () => (last = differences(engine, id, m)).length === 0, ms);
  } catch {
    throw new Error(`${what}: mirror never converged: ${last.slice(0, 8).join('; ')}`);
  }
}

// A stopped workflow shows the tasks its play starts from before they exist (views.ts,
// scheduling.ts unspawnedWindow): whatever happens to them, a client applying every delta must
// end with what the engine shows.
describe('tasks shown before they exist, and the deltas that show them', () => {
  // Operations that change the views of every task, those not made yet included.
  it.each([
    { op: 'set_hold_point', flow: 'cycles: 3\nrunahead: 2\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n', args: { cyclePoint: 1 }, task: '2/a', field: 'held', value: true },
    { op: 'broadcast', flow: 'tasks:\n  a: { script: "true" }\n', args: { mode: 'set', settings: { env: { X: '1' }, script: 'echo hi' } }, task: '1/a', field: 'script', value: 'echo hi' },
    { op: 'ext_trigger', flow: 'tasks:\n  a: { script: "true", xtrigger: go }\n', args: { name: 'go' }, task: '1/a', field: 'xtriggerSatisfied', value: true },
  ] as const)('$op on a never-played workflow reaches the clients', async ({ op, flow, args, task, field, value }) => {
    box.writeFlow('w', flow);
    const engine = await box.engine();
    const m = strictMirror();
    engine.subscribe(['w'], m.apply);
    await converged(engine, 'w', m, 'first burst');
    await ok(engine, op, 'w', [], args);
    expect(engine.getWorkflow('w')!.tasks.find((t) => t.id === task)![field]).toBe(value);
    await converged(engine, 'w', m, `after ${op}`);
  });

  it('clean drops the hold point from the tasks shown, at the clients too', async () => {
    box.writeFlow('c', 'cycles: 2\nrunahead: 2\ntasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    await ok(engine, 'set_hold_point', 'c', [], { cyclePoint: 1 });
    const m = strictMirror();
    engine.subscribe(['c'], m.apply);
    await converged(engine, 'c', m, 'first burst');
    expect(engine.getWorkflow('c')!.tasks.find((t) => t.id === '2/a')!.held).toBe(true);
    await ok(engine, 'clean', 'c');
    expect(engine.getWorkflow('c')!.tasks.find((t) => t.id === '2/a')!.held).toBe(false);
    await converged(engine, 'c', m, 'after clean');
  });

  it('hold / remove / set_outputs of a shown-but-not-created task, flow edits, invalid file, play', async () => {
    const file = box.writeFlow('w', 'cycles: 4\nrunahead: 2\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a, "a[-1]"] }\n');
    const engine = await box.engine();
    const m = strictMirror();
    const slow = strictMirror(120);
    engine.subscribe(['w'], m.apply);
    engine.subscribe(['w'], slow.apply);
    await converged(engine, 'w', m, 'first burst');
    await ok(engine, 'hold', 'w', ['1/b']);
    await converged(engine, 'w', m, 'hold');
    await ok(engine, 'remove', 'w', ['1/a']);
    await converged(engine, 'w', m, 'remove');
    await ok(engine, 'set_outputs', 'w', ['1/b'], { outputs: ['succeeded'] });
    await converged(engine, 'w', m, 'set_outputs');
    writeFileSync(file, 'cycles: 5\nrunahead: 3\ntasks:\n  a: { script: "true" }\n  c: { script: "true", depends: [a] }\n');
    await converged(engine, 'w', m, 'flow edit');
    writeFileSync(file, 'cycles: [\n');
    await waitFor('error shown', () => engine.getWorkflow('w')!.error);
    await converged(engine, 'w', m, 'invalid file');
    writeFileSync(file, 'cycles: 3\nrunahead: 1\ntasks:\n  a: { script: "true" }\n');
    await waitFor('error gone', () => !engine.getWorkflow('w')!.error);
    await converged(engine, 'w', m, 'valid again');
    await ok(engine, 'play', 'w');
    await waitStatus(engine, 'w', 'stopped');
    await converged(engine, 'w', m, 'after the run');
    await converged(engine, 'w', slow, 'slow after the run', 5000);
  });

  it('stop in the middle of a cycling run, play again, clean, restart', async () => {
    box.writeFlow('cy', 'cycles: 6\nrunahead: 2\ntasks:\n  a: { script: "sleep 0.3" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    const m = strictMirror();
    engine.subscribe(['cy'], m.apply);
    await ok(engine, 'play', 'cy');
    await waitFor('cycle 2 done', () => engine.getWorkflow('cy')!.tasks.find((t) => t.id === '2/b')?.state === 'succeeded');
    await ok(engine, 'stop', 'cy', [], { mode: 'clean' });
    await waitStatus(engine, 'cy', 'stopped');
    await converged(engine, 'cy', m, 'after stop');
    await ok(engine, 'play', 'cy');
    await waitStatus(engine, 'cy', 'stopped');
    await converged(engine, 'cy', m, 'after play again');
    await ok(engine, 'clean', 'cy');
    await converged(engine, 'cy', m, 'after clean');
  });

  it('a stopped workflow shows what play would spawn: the file edited during the run', async () => {
    const file = box.writeFlow('e', 'tasks:\n  a: { script: "sleep 0.5" }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'e');
    await waitFor('a running', () => engine.getWorkflow('e')!.tasks[0]?.state === 'running');
    writeFileSync(file, 'cycles: 2\ntasks:\n  a: { script: "sleep 0.5" }\n  z: { script: "true" }\n');
    await new Promise((r) => setTimeout(r, 400)); // the scan sees the edit while running
    await waitStatus(engine, 'e', 'stopped');
    // Play reads the file (cycles 2, tasks a and z): its first pass makes 2/a and 2/z.
    const shown = engine.getWorkflow('e')!.tasks.map((t) => t.id).sort();
    await ok(engine, 'play', 'e');
    await waitStatus(engine, 'e', 'stopped');
    const ran = engine.getWorkflow('e')!.tasks.map((t) => t.id).sort();
    expect(ran).toEqual(['1/a', '2/a', '2/z']);
    expect(shown).toEqual(ran);
  });

  it('after a restart, a stopped workflow whose file became invalid shows the same tasks as before the restart', async () => {
    const file = box.writeFlow('i', 'tasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    writeFileSync(file, 'tasks: [\n');
    await waitFor('error shown', () => engine.getWorkflow('i')!.error);
    const before = engine.getWorkflow('i')!.tasks.map((t) => t.id);
    await engine.close();
    const again = await box.engine();
    const after = again.getWorkflow('i')!.tasks.map((t) => t.id);
    expect(after).toEqual(before);
  });

  it('a workflow folder removed while stopped, and restart of a stopped half-run workflow', async () => {
    box.writeFlow('gone', 'tasks:\n  a: { script: "true" }\n');
    box.writeFlow('half', 'cycles: 4\nrunahead: 1\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    const m = strictMirror();
    engine.subscribe(null, m.apply);
    rmSync(join(box.ownerDir, 'workflows', 'gone'), { recursive: true });
    await waitFor('gone', () => !engine.getWorkflow('gone'));
    await ok(engine, 'set_hold_point', 'half', [], { cyclePoint: 1 });
    await ok(engine, 'play', 'half');
    // Cycle point 1 runs; 2 waits behind the hold point, so nothing runs on after the stop.
    await waitFor('cycle point 1 done', () => states(engine, 'half')['1/b'] === 'succeeded');
    await ok(engine, 'stop', 'half', [], { mode: 'now' });
    await waitStatus(engine, 'half', 'stopped');
    const view = engine.getWorkflow('half')!;
    await engine.close();
    const again = await box.engine();
    const m2 = strictMirror();
    again.subscribe(['half'], m2.apply);
    await converged(again, 'half', m2, 'restart burst');
    expect(norm(again.getWorkflow('half')!.tasks.map((t) => [t.id, t.state, t.held]))).toEqual(norm(view.tasks.map((t) => [t.id, t.state, t.held])));
  });

  it('subscribe in the same turn as play, reload of a running workflow, a moving window, restart of a never-played one', async () => {
    const file = box.writeFlow('r', 'cycles: 8\nrunahead: 3\ntasks:\n  a: { script: "sleep 0.2" }\n  b: { script: "true", depends: [a, "b[-1]"] }\n');
    box.writeFlow('never', 'cycles: 2\ntasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    const [played] = await Promise.all([engine.command('play', { workflows: ['r'], by: 't' })]);
    expect(played![0]!.ok).toBe(true);
    const m = strictMirror();
    const slow = strictMirror(250);
    engine.subscribe(['r'], m.apply);
    engine.subscribe(['r'], slow.apply);
    await waitFor('3/a running', () => engine.getWorkflow('r')!.tasks.find((t) => t.id === '3/a')?.state === 'running');
    writeFileSync(file, 'cycles: 8\nrunahead: 2\ntasks:\n  a: { script: "sleep 0.2" }\n  c: { script: "true", depends: [a, "c[-1]"] }\n');
    await new Promise((r) => setTimeout(r, 300));
    await ok(engine, 'reload', 'r');
    await waitStatus(engine, 'r', 'stopped');
    await converged(engine, 'r', m, 'after the run');
    await converged(engine, 'r', slow, 'slow after the run', 6000);
    const never = engine.getWorkflow('never')!.tasks.map((t) => [t.id, t.state]);
    await engine.close();
    const again = await box.engine();
    expect(again.getWorkflow('never')!.tasks.map((t) => [t.id, t.state])).toEqual(never);
    const m2 = strictMirror();
    const m3 = strictMirror();
    again.subscribe(['never'], m2.apply);
    again.subscribe(['r'], m3.apply);
    await converged(again, 'never', m2, 'restart burst never');
    await converged(again, 'r', m3, 'restart burst r');
  });

  it('refuses a message for a task shown before it exists, saying why, and makes nothing', async () => {
    box.writeFlow('msg', 'tasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    expect(engine.getWorkflow('msg')!.tasks.map((t) => t.id)).toEqual(['1/a']);
    const [r] = await engine.command('message', { workflows: ['msg'], tasks: ['1/a'], args: { severity: 'INFO', text: 'hi' }, by: 't' });
    expect(r).toMatchObject({ ok: false, message: 'cannot message 1/a: it has no job, and nothing recorded, until the workflow is played' });
    expect(engine.getWorkflow('msg')!.tasks).toMatchObject([{ id: '1/a', state: 'waiting', messages: [] }]);
  });

  it('re-sends the views of instances when a stopped workflow takes an edited flow.yaml', async () => {
    const file = box.writeFlow('p', 'tasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    const m = strictMirror();
    engine.subscribe(['p'], m.apply);
    await ok(engine, 'play', 'p');
    await waitStatus(engine, 'p', 'stopped');
    await converged(engine, 'p', m, 'after the run');
    writeFileSync(file, 'tasks:\n  a: { script: "echo changed" }\n');
    await waitFor('the edit seen', () => engine.getWorkflow('p')!.tasks.find((t) => t.id === '1/a')!.script === 'echo changed');
    await converged(engine, 'p', m, 'after the edit');
  });

  it('a task held ahead of the window before play: play still runs every cycle point from the first', async () => {
    box.writeFlow('wb', 'cycles: 4\nrunahead: 2\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    expect(engine.getWorkflow('wb')!.tasks.map((t) => t.id)).toEqual(['1/a', '1/b', '2/a', '2/b']);
    await ok(engine, 'hold', 'wb', ['2/b']);
    await ok(engine, 'hold', 'wb', ['4/a']);
    expect(engine.getWorkflow('wb')!.tasks.map((t) => t.id).sort()).toEqual(['1/a', '1/b', '2/a', '2/b', '4/a']);
    await ok(engine, 'release', 'wb', ['2/b', '4/a']);
    await ok(engine, 'play', 'wb');
    await waitStatus(engine, 'wb', 'stopped');
    expect(Object.values(states(engine, 'wb'))).toEqual(Array(8).fill('succeeded'));
  });
});
