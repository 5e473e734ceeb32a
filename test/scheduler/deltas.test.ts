import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delta, GraphEdge, TaskView } from '../../src/scheduler/index.js';
import { Sandbox, ok, waitFor, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/** Applies deltas the way a client would, to check that they add up to the engine's state. */
function mirror() {
  const tasks = new Map<string, Partial<TaskView>>();
  let status: string | undefined;
  let edges: GraphEdge[] | undefined;
  const deltas: Delta[] = [];
  const apply = (d: Delta) => {
    deltas.push(d);
    if (d.added?.workflow) ({ status, edges } = d.added.workflow);
    if (d.updated?.workflow?.status) status = d.updated.workflow.status;
    if (d.updated?.workflow?.edges) edges = d.updated.workflow.edges;
    for (const t of d.added?.tasks ?? []) tasks.set(t.id, { ...t });
    for (const t of d.updated?.tasks ?? []) tasks.set(t.id, { ...tasks.get(t.id), ...t });
    for (const id of d.pruned?.tasks ?? []) tasks.delete(id);
  };
  return { tasks, deltas, apply, status: () => status, edges: () => edges };
}

describe('change deltas', () => {
  it('sends a full initial burst, then only changed fields, and a slow subscriber still converges', async () => {
    box.writeFlow('d', `tasks:\n${Array.from({ length: 8 }, (_, i) => `  t${i}: { script: "true"${i ? `, depends: [t${i - 1}]` : ''} }`).join('\n')}\n`);
    const engine = await box.engine();
    await ok(engine, 'play', 'd');
    const fast = mirror();
    const slow = mirror();
    let slowCalls = 0;
    const offFast = engine.subscribe(['d'], fast.apply);
    const offSlow = engine.subscribe(null, (d) => {
      slowCalls++;
      slow.apply(d);
      return new Promise((r) => setTimeout(r, 300));
    });
    await waitStatus(engine, 'd', 'stopped');
    await waitFor('fast to converge', () => fast.status() === 'stopped' && fast.tasks.get('1/t7')?.state === 'succeeded');
    await waitFor('slow to converge', () => slow.status() === 'stopped' && slow.tasks.get('1/t7')?.state === 'succeeded');
    expect(fast.deltas[0]!.added?.workflow?.id).toBe('d');
    // Updates carry only what changed: never the script, which no run changes. (Whether a `true`
    // task's short running state gets a delta of its own depends on the machine's pace.)
    const updates = fast.deltas.flatMap((d) => d.updated?.tasks ?? []);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.filter((t) => 'script' in t)).toEqual([]);
    for (const t of engine.getWorkflow('d')!.tasks) {
      expect(fast.tasks.get(t.id)).toMatchObject({ state: t.state, submitNum: t.submitNum });
      expect(slow.tasks.get(t.id)).toMatchObject({ state: t.state });
    }
    // Coalescing: the slow subscriber saw far fewer deltas than the fast one for the same end state.
    expect(slowCalls).toBeLessThan(fast.deltas.length);
    offFast();
    offSlow();
  });

  it('shows active broadcasts in the view, sends them as a workflow delta when they change, and keeps them over a restart', async () => {
    box.writeFlow('b', 'cycles: 2\ntasks:\n  gate: { script: "true", xtrigger: go }\n  say: { script: "echo $WORD", depends: [gate] }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'b');
    expect(engine.getWorkflow('b')!.broadcasts).toEqual([]);
    const updates: unknown[] = [];
    let burst = false;
    let verbosity: string | undefined;
    engine.subscribe(['b'], (d) => {
      if (d.added?.workflow) burst = true;
      verbosity = d.updated?.workflow?.verbosity ?? verbosity;
      if (d.updated?.workflow && 'broadcasts' in d.updated.workflow) updates.push(d.updated.workflow.broadcasts);
    });
    // Changes made before the initial burst is delivered merge into it; wait, to see them as updates.
    await waitFor('the initial burst', () => burst);

    await ok(engine, 'broadcast', 'b', [], { mode: 'set', settings: { env: { WORD: 'hello' } }, namespaces: ['s*'] });
    await ok(engine, 'broadcast', 'b', [], { mode: 'set', settings: { script: 'echo special' }, cyclePoints: ['2'], namespaces: ['say'] });
    const active = engine.getWorkflow('b')!.broadcasts;
    expect(active).toEqual([
      { id: '*/s*', cyclePoint: '*', namespace: 's*', settings: { env: { WORD: 'hello' } }, seq: 1, setBy: 'tester', setAt: expect.any(String) },
      { id: '2/say', cyclePoint: '2', namespace: 'say', settings: { env: {}, script: 'echo special' }, seq: 2, setBy: 'tester', setAt: expect.any(String) },
    ]);
    await waitFor('a delta with both broadcasts', () => updates.some((u) => JSON.stringify(u) === JSON.stringify(active)));

    // Clearing the env override leaves only the script one; the delta says so.
    await ok(engine, 'broadcast', 'b', [], { mode: 'clear', settings: {}, cyclePoints: ['*'], namespaces: ['s*'] });
    expect(engine.getWorkflow('b')!.broadcasts.map((b) => b.id)).toEqual(['2/say']);
    await waitFor('a delta without the cleared broadcast', () => JSON.stringify(updates.at(-1)) === JSON.stringify([active[1]]));

    // Other workflow changes do not resend unchanged broadcasts.
    const before = updates.length;
    await ok(engine, 'set_verbosity', 'b', [], { level: 'DEBUG' });
    await waitFor('the verbosity delta', () => verbosity === 'DEBUG');
    expect(updates.length).toBe(before);

    await engine.close();
    const again = await box.engine();
    expect(again.getWorkflow('b')!.broadcasts).toEqual([active[1]]);
    const first: Delta[] = [];
    again.subscribe(['b'], (d) => void first.push(d));
    await waitFor('the initial burst', () => first[0]);
    expect(first[0]!.added?.workflow?.broadcasts).toEqual([active[1]]);
  });

  it('notices new and removed workflow folders without a restart', async () => {
    const engine = await box.engine();
    const seen = mirror();
    const pruned: string[] = [];
    engine.subscribe(null, (d) => {
      seen.apply(d);
      if (d.pruned?.workflow) pruned.push(d.workflow);
    });
    box.writeFlow('later', 'description: added later\ntasks:\n  a: { script: "true" }\n');
    await waitFor('new workflow listed', () => engine.getWorkflow('later'));
    expect(engine.listWorkflows().map((w) => w.id)).toEqual(['later']);
    await waitFor('added delta', () => seen.deltas.find((d) => d.added?.workflow?.description === 'added later'));
    rmSync(join(box.ownerDir, 'workflows', 'later'), { recursive: true });
    await waitFor('workflow gone', () => !engine.getWorkflow('later'));
    await waitFor('pruned delta', () => pruned.includes('later'));
  });
});

describe('sharing and coalescing', () => {
  it('hands subscribers that keep up the same published object, and one that is stuck a single merged delta that adds up', async () => {
    box.writeFlow('s', `tasks:\n${Array.from({ length: 6 }, (_, i) => `  t${i}: { script: "true"${i ? `, depends: [t${i - 1}]` : ''} }`).join('\n')}\n`);
    const engine = await box.engine();
    const first: Delta[] = [];
    const second: Delta[] = [];
    engine.subscribe(['s'], (d) => void first.push(d));
    engine.subscribe(['s'], (d) => void second.push(d));
    // The stuck ones take their first burst, then do not take the next delta until released.
    const stuck = mirror();
    const alsoStuck = mirror();
    let held: Promise<void> | undefined;
    let release: () => void = () => undefined;
    let stuckCalls = 0;
    engine.subscribe(['s'], (d) => {
      stuckCalls++;
      stuck.apply(d);
      if (stuckCalls === 2) return (held = new Promise<void>((r) => (release = r)));
    });
    engine.subscribe(['s'], (d) => {
      alsoStuck.apply(d);
      if (alsoStuck.deltas.length === 2) return held;
    });
    await waitFor('the first bursts', () => first.length > 0 && second.length > 0 && stuckCalls > 0 && alsoStuck.deltas.length > 0);
    await ok(engine, 'play', 's');
    await waitStatus(engine, 's', 'stopped');
    await waitFor('the fast ones to see the end', () => first.some((d) => d.updated?.workflow?.status === 'stopped'));
    await waitFor('the same count at both', () => second.length === first.length);
    // Not equal copies: the very same objects, so that what is made of them is made once.
    first.forEach((d, i) => expect(second[i]).toBe(d));
    expect(first.length).toBeGreaterThan(4);

    // Everything since it got stuck is waiting as one merged delta, whatever the number of changes.
    expect(stuckCalls).toBe(2);
    release();
    await waitFor('the stuck one to take the rest', () => stuckCalls === 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(stuckCalls).toBe(3);
    expect(stuck.status()).toBe('stopped');
    for (const t of engine.getWorkflow('s')!.tasks) expect(stuck.tasks.get(t.id)).toMatchObject({ state: t.state, submitNum: t.submitNum });
    // Stuck at the same delta and released together: the same merged object, made once.
    await waitFor('the other stuck one to take the rest', () => alsoStuck.deltas.length === 3);
    expect(alsoStuck.deltas[2]).toBe(stuck.deltas[2]);
  });

  it('gives subscribers of an unchanged workflow the same first burst, built from what was published', async () => {
    box.writeFlow('f', 'tasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    const bursts: Delta[] = [];
    engine.subscribe(['f'], (d) => void bursts.push(d));
    engine.subscribe(['f'], (d) => void bursts.push(d));
    await waitFor('two bursts', () => bursts.length === 2);
    expect(bursts[1]).toBe(bursts[0]);
    expect(bursts[0]!.added?.workflow?.id).toBe('f');

    await ok(engine, 'play', 'f');
    await waitStatus(engine, 'f', 'stopped');
    const later: Delta[] = [];
    engine.subscribe(['f'], (d) => void later.push(d));
    await waitFor('a burst after the run', () => later.length === 1);
    expect(later[0]).not.toBe(bursts[0]);
    const view = engine.getWorkflow('f')!;
    expect(later[0]!.added?.workflow).toMatchObject({ status: view.status, stateCounts: view.stateCounts, edges: view.edges });
    expect(later[0]!.added?.tasks?.map((t) => [t.id, t.state]).sort()).toEqual(view.tasks.map((t) => [t.id, t.state]).sort());
  });

  it('sends the graph edges when tasks come, not again as tasks finish', async () => {
    // Chains whose last task waits for a trigger that never comes. The edges are every edge
    // between the chains' tasks from the start; which of them a graph shows is the viewer's.
    const chain = (c: number) => Array.from({ length: 10 }, (_, i) =>
      `  c${c}_${i}: { script: "true"${i ? `, depends: [c${c}_${i - 1}]` : ''}${i === 9 ? ', xtrigger: never' : ''} }`);
    box.writeFlow('chains', `tasks:\n${[0, 1, 2].flatMap(chain).join('\n')}\n`);
    const engine = await box.engine();
    const seen = mirror();
    engine.subscribe(['chains'], seen.apply);
    await ok(engine, 'play', 'chains');
    await waitFor('every chain at its gate', () => engine.getWorkflow('chains')!.tasks.filter((t) => t.state === 'succeeded').length === 27);
    const edges = engine.getWorkflow('chains')!.edges;
    expect(edges).toHaveLength(27);
    await waitFor('the mirror to catch up', () => [...seen.tasks.values()].filter((t) => t.state === 'succeeded').length === 27);
    expect(seen.edges()).toEqual(edges);
    // Once, with the tasks: none of the deltas while 27 tasks finished carried edges again.
    expect(seen.deltas.filter((d) => (d.updated?.workflow?.edges ?? d.added?.workflow?.edges)?.length)).toHaveLength(1);
  });

  it('sends new edges when a reloaded flow.yaml links tasks that were already there', async () => {
    const file = box.writeFlow('rl', 'tasks:\n  a: { script: "true", xtrigger: go }\n  b: { script: "true", xtrigger: go }\n');
    const engine = await box.engine();
    const seen = mirror();
    engine.subscribe(['rl'], seen.apply);
    await ok(engine, 'play', 'rl');
    await waitFor('both tasks', () => seen.tasks.size === 2);
    expect(seen.edges()).toEqual([]);
    writeFileSync(file, 'tasks:\n  a: { script: "true", xtrigger: go }\n  b: { script: "true", xtrigger: go, depends: [a] }\n');
    await ok(engine, 'reload', 'rl');
    await waitFor('the new edge', () => JSON.stringify(seen.edges()) === JSON.stringify([{ from: '1/a', to: '1/b' }]));
  });

  it('shows a stopped workflow with the tasks its play starts from, and play sends only what it changes', async () => {
    // Three cycle points, two at a time: the window play starts from is cycle points 1 and 2.
    const file = box.writeFlow('pre', 'cycles: 3\nrunahead: 2\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    const window = ['1/a', '1/b', '2/a', '2/b'];
    const view = engine.getWorkflow('pre')!;
    expect(view.tasks.map((t) => [t.id, t.state, t.submitNum, t.messages])).toEqual(window.map((id) => [id, 'waiting', 0, []]));
    expect(view.stateCounts.waiting).toBe(4);
    expect(view.edges).toEqual([{ from: '1/a', to: '1/b' }, { from: '2/a', to: '2/b' }]);
    expect(engine.getTasks('pre', ['2/b', '3/a']).map((t) => t.id)).toEqual(['2/b']);
    expect(() => engine.jobLog({ workflow: 'pre', task: '1/a', file: 'job.out' })).toThrow('task 1/a has no job yet');
    expect(() => engine.jobLog({ workflow: 'pre', task: '3/a', file: 'job.out' })).toThrow('no task "3/a"');
    const seen = mirror();
    engine.subscribe(['pre'], seen.apply);
    await waitFor('the first burst', () => seen.tasks.size === 4);

    // The definition changes while stopped: what is shown follows it.
    writeFileSync(file, 'cycles: 3\nrunahead: 2\ntasks:\n  a: { script: "true" }\n  c: { script: "true", depends: [a] }\n');
    await waitFor('c instead of b', () => [...seen.tasks.keys()].sort().join() === '1/a,1/c,2/a,2/c');
    expect(seen.edges()).toEqual([{ from: '1/a', to: '1/c' }, { from: '2/a', to: '2/c' }]);

    const before = seen.deltas.length;
    await ok(engine, 'play', 'pre');
    await waitStatus(engine, 'pre', 'stopped');
    await waitFor('the mirror to see the run end', () => seen.status() === 'stopped' && seen.tasks.get('3/c')?.state === 'succeeded');
    const run = seen.deltas.slice(before);
    // The tasks already shown were never added again: only cycle point 3, when the window moved.
    expect(run.flatMap((d) => d.added?.tasks ?? []).map((t) => t.id).sort()).toEqual(['3/a', '3/c']);
    expect(run.flatMap((d) => d.pruned?.tasks ?? [])).toEqual([]);
    for (const t of engine.getWorkflow('pre')!.tasks) expect(seen.tasks.get(t.id)).toMatchObject({ state: t.state, submitNum: t.submitNum });
    expect(seen.tasks.size).toBe(6);
  });

  it('sends the edges of cycle points that keep coming, the last of them even when nothing else changes', async () => {
    // One cycle point at a time (runahead 1): each that finishes spawns the next, and with it new
    // edges, faster than edges are published while tasks keep coming (views.ts, EDGES_GAP_MS).
    box.writeFlow('cyc', 'cycles: 6\nrunahead: 1\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a, "b[-1]"] }\n  c: { script: "true", depends: [b] }\n');
    const engine = await box.engine();
    const seen = mirror();
    engine.subscribe(['cyc'], seen.apply);
    await ok(engine, 'play', 'cyc');
    await waitStatus(engine, 'cyc', 'stopped');
    const edges = engine.getWorkflow('cyc')!.edges;
    // a -> b and b -> c in each of 6 cycle points, b[-1] -> b in the last 5.
    expect(edges).toHaveLength(17);
    await waitFor('the last edges', () => JSON.stringify(seen.edges()) === JSON.stringify(edges));
  });
});
