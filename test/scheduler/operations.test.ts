import { existsSync, readFileSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowEngine } from '../../src/scheduler/index.js';
import { Sandbox, ok, states, task, waitFor, waitState, waitStatus } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});

async function refused(engine: WorkflowEngine, op: string, workflow: string, tasks?: string[], args?: unknown): Promise<string> {
  const [result] = await engine.command(op, { workflows: [workflow], tasks, args, by: 'tester' });
  expect(result?.ok).toBe(false);
  return result!.message;
}

const out = (engine: WorkflowEngine, wf: string, id: string, submitNum?: number) =>
  engine.jobLog({ workflow: wf, task: id, file: 'job.out', submitNum }).content;

describe('operations on real jobs', () => {
  it('retries a failed job and succeeds on the second try', async () => {
    box.writeFlow('r', 'tasks:\n  flaky: { script: "test -f marker || { touch marker; echo first; exit 1; }; echo second", retries: 1 }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'r');
    const t = await waitState(engine, 'r', '1/flaky', 'succeeded');
    expect(t.submitNum).toBe(2);
    expect(out(engine, 'r', '1/flaky', 1)).toBe('first\n');
    expect(out(engine, 'r', '1/flaky')).toBe('second\n');
    expect(engine.workflowLog('r').some((e) => e.kind === 'retry' && /job 1 failed with exit status 1 \(job failure\); retry 1 of 1/.test(e.text))).toBe(true);
    await waitStatus(engine, 'r', 'stopped');
  });

  it('retries a job that could not start from the same retries budget as a failed one', async () => {
    box.writeFlow('s', `tasks:
  recovers: { script: "echo second", retries: 1 }
  budget: { script: "exit 3", retries: 1 }
  once: { script: "true" }
`);
    // A real, deterministic submission failure: each job gets its own folder log/job/<cycle>/<task>/<NN>,
    // created when it is submitted. A plain file already at the first submission's path makes that
    // mkdir fail (ENOTDIR/EEXIST), so submission 1 of each task cannot start while submission 2,
    // with its own folder, can. The engine starts first: a runs/ folder with no database would be
    // refused as lost state.
    const engine = await box.engine();
    for (const name of ['recovers', 'budget', 'once']) {
      const blocked = join(box.runDir('s'), 'log', 'job', '1', name, '01');
      mkdirSync(dirname(blocked), { recursive: true });
      writeFileSync(blocked, 'not a folder');
    }
    await ok(engine, 'play', 's');
    expect((await waitState(engine, 's', '1/recovers', 'succeeded')).submitNum).toBe(2);
    expect(out(engine, 's', '1/recovers')).toBe('second\n');
    // One budget: the submission failure used budget's only retry, so its failing job is not retried.
    expect((await waitState(engine, 's', '1/budget', 'failed')).submitNum).toBe(2);
    // No retries at all: the submission failure is final.
    expect((await waitState(engine, 's', '1/once', 'submit-failed')).submitNum).toBe(1);

    const log = engine.workflowLog('s').map((e) => `${e.kind} ${e.text}`);
    expect(log).toContainEqual(expect.stringMatching(/^retry 1\/recovers: job 1 could not start \(submission failure: .+\); retry 1 of 1$/));
    expect(log).toContainEqual(expect.stringMatching(/^retry 1\/budget: job 1 could not start \(submission failure: .+\); retry 1 of 1$/));
    expect(log).toContainEqual('failed 1/budget: job 2 failed with exit status 3');
    expect(log).toContainEqual(expect.stringMatching(/^submit-failed 1\/once: job 1 could not start: /));
    expect(log.filter((l) => l.startsWith('retry 1/budget'))).toHaveLength(1);
  });

  it('runs cycle points in order through name[-1] and keeps within the runahead limit', async () => {
    box.writeFlow('c', `cycles: 5
runahead: 2
tasks:
  a: { script: "sleep 0.2; echo $FLOTILLA_CYCLE >> ../order", depends: ["a[-1]"] }
  b: { script: "sleep 0.1", depends: [a] }
  free: { script: "sleep 0.2" }
`);
    const engine = await box.engine();
    await ok(engine, 'play', 'c');
    let worstSpan = 0;
    await waitFor('workflow to finish', () => {
      const wf = engine.getWorkflow('c')!;
      const unfinished = wf.tasks.filter((t) => !['succeeded', 'failed', 'expired', 'submit-failed'].includes(t.state));
      const started = wf.tasks.filter((t) => t.submitNum > 0 && unfinished.includes(t));
      if (started.length) {
        const lowest = Math.min(...unfinished.map((t) => t.cycle));
        worstSpan = Math.max(worstSpan, Math.max(...started.map((t) => t.cycle)) - lowest);
      }
      return wf.status === 'stopped';
    });
    expect(worstSpan).toBeLessThan(2);
    expect(readFileSync(join(box.ownerDir, 'runs', 'order'), 'utf8')).toBe('1\n2\n3\n4\n5\n');
    expect(Object.values(states(engine, 'c')).every((s) => s === 'succeeded')).toBe(true);
    expect(Object.keys(states(engine, 'c'))).toHaveLength(15);
  });

  it('never runs more jobs than the concurrency limit, queueing the rest', async () => {
    const tasks = Array.from({ length: 6 }, (_, i) => `  t${i}: { script: "sleep 0.3" }`).join('\n');
    box.writeFlow('q', `tasks:\n${tasks}\n`);
    const engine = await box.engine({ concurrency: 2 });
    await ok(engine, 'play', 'q');
    let mostActive = 0;
    let sawQueued = false;
    await waitFor('all done', () => {
      const wf = engine.getWorkflow('q')!;
      mostActive = Math.max(mostActive, wf.tasks.filter((t) => ['preparing', 'submitted', 'running'].includes(t.state)).length);
      sawQueued ||= wf.tasks.some((t) => t.queued);
      return wf.status === 'stopped';
    });
    expect(mostActive).toBeLessThanOrEqual(2);
    expect(mostActive).toBeGreaterThan(0);
    expect(sawQueued).toBe(true);
    expect(engine.getWorkflow('q')!.stateCounts.succeeded).toBe(6);
  });

  it('waits for an xtrigger until ext_trigger satisfies it, per cycle point or for all', async () => {
    box.writeFlow('x', 'cycles: 2\ntasks:\n  get: { script: "echo got", xtrigger: data_ready }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'x');
    await waitFor('instances', () => task(engine, 'x', '2/get'));
    expect(task(engine, 'x', '1/get')).toMatchObject({ state: 'waiting', xtrigger: 'data_ready', xtriggerSatisfied: false });
    expect(await refused(engine, 'ext_trigger', 'x', [], { name: 'nope' })).toMatch(/no task waits for xtrigger "nope"/);
    await ok(engine, 'ext_trigger', 'x', [], { name: 'data_ready', id: '2' });
    await waitState(engine, 'x', '2/get', 'succeeded');
    expect(task(engine, 'x', '1/get')).toMatchObject({ state: 'waiting', xtriggerSatisfied: false });
    expect(engine.getWorkflow('x')!.status).toBe('running');
    await ok(engine, 'ext_trigger', 'x', [], { name: 'data_ready' });
    await waitState(engine, 'x', '1/get', 'succeeded');
    await waitStatus(engine, 'x', 'stopped');
  });

  it('broadcast sets and clears env and script for matching tasks and cycle points', async () => {
    box.writeFlow('b', 'cycles: 2\ntasks:\n  gate: { script: "true", xtrigger: go }\n  say: { script: "echo plain $WORD", depends: [gate], env: { WORD: base } }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'b');
    await waitFor('spawned', () => task(engine, 'b', '2/say'));
    await ok(engine, 'broadcast', 'b', [], { mode: 'set', settings: { env: { WORD: 'hello' } }, namespaces: ['s*'] });
    await ok(engine, 'broadcast', 'b', [], { mode: 'set', settings: { script: 'echo special $WORD' }, cyclePoints: ['2'], namespaces: ['say'] });
    expect(task(engine, 'b', '1/say')).toMatchObject({ script: 'echo plain $WORD', env: { WORD: 'hello' } });
    expect(task(engine, 'b', '2/say')).toMatchObject({ script: 'echo special $WORD' });
    await ok(engine, 'broadcast', 'b', [], { mode: 'clear', settings: { env: { WORD: '' } } });
    expect(task(engine, 'b', '1/say')!.env).toEqual({ WORD: 'base' });
    expect(await refused(engine, 'broadcast', 'b', [], { mode: 'clear', settings: {}, cyclePoints: ['1'] })).toMatch(/no broadcast matches/);
    await ok(engine, 'broadcast', 'b', [], { mode: 'set', settings: { env: { WORD: 'again' } }, cyclePoints: ['1'] });
    await ok(engine, 'ext_trigger', 'b', [], { name: 'go' });
    await waitStatus(engine, 'b', 'stopped');
    expect(out(engine, 'b', '1/say')).toBe('plain again\n');
    expect(out(engine, 'b', '2/say')).toBe('special base\n');
  });

  it('reload applies an edited flow.yaml to a running workflow and refuses a broken one', async () => {
    const file = box.writeFlow('re', 'tasks:\n  a: { script: "echo old", xtrigger: go }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 're');
    await waitFor('spawned', () => task(engine, 're', '1/a'));
    writeFileSync(file, 'tasks:\n  a: { script: "echo new" }\n  b: { script: "echo b", depends: [a, zz] }\n');
    expect(await refused(engine, 'reload', 're')).toMatch(/flow\.yaml:3:\d+: tasks\.b\.depends: unknown task "zz"/);
    expect(task(engine, 're', '1/a')!.script).toBe('echo old');
    writeFileSync(file, 'tasks:\n  a: { script: "echo new" }\n  b: { script: "echo b", depends: [a] }\n');
    await ok(engine, 'reload', 're');
    await waitStatus(engine, 're', 'stopped');
    expect(out(engine, 're', '1/a')).toBe('new\n');
    expect(out(engine, 're', '1/b')).toBe('b\n');
  });

  it('play takes the file as it is now, even edited to the same size within the same modification time', async () => {
    const file = box.writeFlow('same', 'tasks:\n  a: { script: "echo one" }\n');
    const engine = await box.engine();
    await waitFor('listed', () => engine.getWorkflow('same'));
    const { atime, mtime } = statSync(file);
    // Same length, same times: only the text tells the two apart (parses are reused by content).
    writeFileSync(file, 'tasks:\n  a: { script: "echo two" }\n');
    utimesSync(file, atime, mtime);
    await ok(engine, 'play', 'same');
    await waitStatus(engine, 'same', 'stopped');
    expect(out(engine, 'same', '1/a')).toBe('two\n');
  });

  it('hold, release, hold point and release_hold_point', async () => {
    box.writeFlow('h', 'cycles: 3\nrunahead: 3\ntasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    await ok(engine, 'set_hold_point', 'h', [], { cyclePoint: 1 });
    await ok(engine, 'hold', 'h', ['1/b']);
    await ok(engine, 'play', 'h');
    await waitState(engine, 'h', '1/a', 'succeeded');
    expect(task(engine, 'h', '1/b')).toMatchObject({ state: 'waiting', held: true });
    expect(task(engine, 'h', '2/a')).toMatchObject({ state: 'waiting', held: true });
    expect(await refused(engine, 'release', 'h', ['1/a'])).toMatch(/is not held/);
    await ok(engine, 'release', 'h', ['1/b']);
    await waitState(engine, 'h', '1/b', 'succeeded');
    expect(engine.getWorkflow('h')).toMatchObject({ status: 'running', holdPoint: 1 });
    expect(task(engine, 'h', '2/a')!.state).toBe('waiting');
    await ok(engine, 'release_hold_point', 'h');
    await waitStatus(engine, 'h', 'stopped');
    expect(engine.getWorkflow('h')!.stateCounts.succeeded).toBe(6);
  });

  it('pause stops new submissions until resume', async () => {
    box.writeFlow('p', 'tasks:\n  a: { script: "sleep 0.5" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'p');
    await waitState(engine, 'p', '1/a', 'running');
    await ok(engine, 'pause', 'p');
    expect(await refused(engine, 'pause', 'p')).toMatch(/workflow is paused/);
    await waitState(engine, 'p', '1/a', 'succeeded');
    // Give the scheduler every chance to (wrongly) submit b while paused.
    await ok(engine, 'poll', 'p');
    await new Promise((r) => setImmediate(r));
    expect(task(engine, 'p', '1/b')!.state).toBe('waiting');
    expect(engine.getWorkflow('p')!.status).toBe('paused');
    await ok(engine, 'resume', 'p');
    await waitStatus(engine, 'p', 'stopped');
    expect(task(engine, 'p', '1/b')!.state).toBe('succeeded');
  });

  it('trigger runs a task whatever its prerequisites; refused while stopped', async () => {
    box.writeFlow('t', 'tasks:\n  a: { script: "true", xtrigger: never }\n  b: { script: "echo forced", depends: [a] }\n');
    const engine = await box.engine();
    expect(await refused(engine, 'trigger', 't', ['b'])).toMatch(/stopped; play it first/);
    await ok(engine, 'play', 't');
    await waitFor('spawned', () => task(engine, 't', '1/b'));
    await ok(engine, 'trigger', 't', ['1/b']);
    await waitState(engine, 't', '1/b', 'succeeded');
    expect(task(engine, 't', '1/a')!.state).toBe('waiting');
    expect(await refused(engine, 'trigger', 't', ['9/*'])).toMatch(/no task matches "9\/\*"/);
  });

  it('kill ends the whole process group of a job and marks it failed', async () => {
    box.writeFlow('k', 'tasks:\n  long: { script: "sleep 60 & echo $! > child.pid; wait", retries: 2 }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'k');
    await waitState(engine, 'k', '1/long', 'running');
    const childPid = Number(await waitFor('child pid', () => {
      try {
        return readFileSync(join(box.runDir('k'), 'child.pid'), 'utf8').trim();
      } catch {
        return undefined;
      }
    }));
    await ok(engine, 'kill', 'k', ['long']);
    const t = await waitState(engine, 'k', '1/long', 'failed');
    expect(t.submitNum).toBe(1);
    await waitFor('background child gone', () => {
      try {
        process.kill(childPid, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(await refused(engine, 'kill', 'k', ['long'])).toMatch(/is not active \(failed\)/);
  });

  it('set_outputs lets dependants of a failed task run; remove expires a task and the workflow stalls', async () => {
    box.writeFlow('s', 'tasks:\n  a: { script: "false" }\n  b: { script: "echo b", depends: [a] }\n  c: { script: "true", depends: [b] }\n  d: { script: "true", xtrigger: x }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 's');
    await waitState(engine, 's', '1/a', 'failed');
    await ok(engine, 'hold', 's', ['1/c']);
    await ok(engine, 'set_outputs', 's', ['1/a']);
    expect(task(engine, 's', '1/a')).toMatchObject({ state: 'succeeded' });
    await waitState(engine, 's', '1/b', 'succeeded');
    await ok(engine, 'remove', 's', ['1/d']);
    expect(task(engine, 's', '1/d')!.state).toBe('expired');
    await ok(engine, 'set_outputs', 's', ['1/b'], { outputs: ['failed'] });
    await ok(engine, 'release', 's', ['1/c']);
    // As in Cylc 8 it stays up, stalled, so that the failed task can still be dealt with.
    await waitStatus(engine, 's', 'stalled');
    expect(task(engine, 's', '1/c')!.state).toBe('waiting');
    expect(engine.workflowLog('s').some((e) => e.kind === 'stall')).toBe(true);
  });

  it('message attaches to tasks with who sent it; set_verbosity filters the log', async () => {
    box.writeFlow('m', 'tasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    await ok(engine, 'set_verbosity', 'm', [], { level: 'DEBUG' });
    await ok(engine, 'play', 'm');
    await waitStatus(engine, 'm', 'stopped');
    expect(engine.workflowLog('m').some((e) => e.kind === 'submit')).toBe(true);
    await ok(engine, 'message', 'm', ['*'], { severity: 'WARNING', text: 'disk nearly full' });
    expect(task(engine, 'm', '1/b')!.messages).toEqual([expect.objectContaining({ severity: 'WARNING', text: 'disk nearly full', by: 'tester' })]);
    await ok(engine, 'set_verbosity', 'm', [], { level: 'ERROR' });
    await ok(engine, 'clean', 'm');
    await ok(engine, 'play', 'm');
    await waitStatus(engine, 'm', 'stopped');
    const log = engine.workflowLog('m', 500);
    const sinceError = log.slice(log.findIndex((e) => e.text.includes('ERROR')));
    expect(sinceError.some((e) => e.kind === 'submit' || e.kind === 'succeeded')).toBe(false);
    expect(sinceError.filter((e) => e.kind === 'operation').map((e) => e.text.split(':')[0])).toEqual(['set_verbosity', 'clean', 'play']);
  });

  it('set_graph_window_extent sets the window graph views show; Workflow.edges stays every edge', async () => {
    box.writeFlow('g', 'tasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n  c: { script: "true", depends: [b] }\n  d: { script: "true", depends: [c], xtrigger: x }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'g');
    await waitState(engine, 'g', '1/c', 'succeeded');
    const every = [{ from: '1/a', to: '1/b' }, { from: '1/b', to: '1/c' }, { from: '1/c', to: '1/d' }];
    expect(engine.getWorkflow('g')).toMatchObject({ graphWindowExtent: 1, edges: every });
    await ok(engine, 'set_graph_window_extent', 'g', [], { extent: 2 });
    expect(engine.getWorkflow('g')).toMatchObject({ graphWindowExtent: 2, edges: every });
  });

  it('stop clean waits for jobs, stop kill kills them, stop now leaves them running', async () => {
    box.writeFlow('w', 'tasks:\n  a: { script: "sleep 0.5; echo done" }\n  b: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    await ok(engine, 'play', 'w');
    await waitState(engine, 'w', '1/a', 'running');
    await ok(engine, 'stop', 'w', [], { mode: 'clean' });
    expect(engine.getWorkflow('w')!.status).toBe('stopping');
    expect(await refused(engine, 'clean', 'w')).toMatch(/workflow is stopping/);
    await waitStatus(engine, 'w', 'stopped');
    expect(states(engine, 'w')).toEqual({ '1/a': 'succeeded', '1/b': 'waiting' });

    await ok(engine, 'clean', 'w');
    expect(existsSync(box.runDir('w'))).toBe(false);
    // Nothing of the run is left: the tasks shown are those the next play starts from, no job yet.
    expect(engine.getWorkflow('w')!.tasks.map((t) => [t.id, t.state, t.submitNum])).toEqual([['1/a', 'waiting', 0], ['1/b', 'waiting', 0]]);
    await ok(engine, 'play', 'w');
    await waitState(engine, 'w', '1/a', 'running');
    await ok(engine, 'stop', 'w', [], { mode: 'kill' });
    await waitStatus(engine, 'w', 'stopped');
    expect(task(engine, 'w', '1/a')!.state).toBe('failed');

    await ok(engine, 'clean', 'w');
    await ok(engine, 'play', 'w');
    await waitState(engine, 'w', '1/a', 'running');
    await ok(engine, 'stop', 'w', [], { mode: 'now' });
    expect(engine.getWorkflow('w')!.status).toBe('stopped');
    expect(await refused(engine, 'clean', 'w')).toMatch(/1 job\(s\) still running \(1\/a\)/);
    expect(existsSync(box.runDir('w'))).toBe(true);
    await waitState(engine, 'w', '1/a', 'succeeded');
    expect(task(engine, 'w', '1/b')!.state).toBe('waiting');
    expect(await refused(engine, 'stop', 'w')).toMatch(/already stopped/);
  });

  it('submit-failed when the job cannot start', async () => {
    box.writeFlow('sf', 'tasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    await ok(engine, 'hold', 'sf', ['1/a']);
    await ok(engine, 'play', 'sf');
    mkdirSync(join(box.runDir('sf'), 'log', 'job', '1'), { recursive: true });
    writeFileSync(join(box.runDir('sf'), 'log', 'job', '1', 'a'), 'in the way');
    await ok(engine, 'release', 'sf', ['1/a']);
    await waitState(engine, 'sf', '1/a', 'submit-failed');
    expect(engine.workflowLog('sf').some((e) => e.kind === 'submit-failed' && e.level === 'ERROR')).toBe(true);
  });

  it('refuses unknown operations, bad arguments and unknown workflows, changing nothing', async () => {
    box.writeFlow('u', 'tasks:\n  a: { script: "true" }\n');
    const engine = await box.engine();
    const before = engine.getWorkflow('u');
    expect(await refused(engine, 'explode', 'u')).toMatch(/unknown operation "explode"/);
    expect(await refused(engine, 'set_hold_point', 'u', [], { cyclePoint: -1 })).toMatch(/set_hold_point: args\.cyclePoint/);
    expect(await refused(engine, 'hold', 'u', ['nothere'])).toMatch(/no task matches "nothere"/);
    expect(await refused(engine, 'play', 'nope')).toMatch(/no workflow "nope"/);
    expect(engine.getWorkflow('u')).toEqual({ ...before, lastActivity: expect.any(String) });
    await expect(engine.command('play', { workflows: 'u' as unknown as string[], by: 'x' })).rejects.toThrow(/workflows must be an array/);
    await expect(engine.command('play', { workflows: ['u'], by: '' })).rejects.toThrow(/by must name who asked/);
    expect(() => engine.jobLog({ workflow: 'u', task: '../../etc', file: 'job.out' })).toThrow(/no task/);
  });

  it('lists a workflow with an invalid flow.yaml with its error, and refuses to play it', async () => {
    box.writeFlow('bad', 'tasks:\n  a: { script: "true", depends: [ghost] }\n');
    const engine = await box.engine();
    expect(engine.getWorkflow('bad')!.error).toEqual({ message: 'tasks.a.depends: unknown task "ghost"', file: 'workflows/bad/flow.yaml', line: 2, column: 34 });
    expect(await refused(engine, 'play', 'bad')).toMatch(/cannot play: .*flow\.yaml:2:34: tasks\.a\.depends: unknown task "ghost"/);
  });
});
