import { describe, expect, it } from 'vitest';
import { parseCommand, parseFlow } from '../../src/scheduler/index.js';

const error = (src: string) => {
  const r = parseFlow(src, '/x/flow.yaml');
  if (r.ok) throw new Error('expected an error');
  return r.error;
};

describe('flow.yaml', () => {
  it('parses tasks, dependencies with offsets, env, retries and xtriggers', () => {
    const r = parseFlow(`
description: Train and report
cycles: 3
runahead: 2
tasks:
  prep:    { script: "echo preparing" }
  train:   { script: "python3 train.py", depends: [prep, "train[-1]"], env: { EPOCHS: "3" }, retries: 1 }
  publish: { script: "./publish.sh", depends: [train], xtrigger: data_ready }
`, 'f');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.flow.cycles).toBe(3);
    expect(r.flow.runahead).toBe(2);
    expect(r.flow.tasks.get('train')).toEqual({
      name: 'train', script: 'python3 train.py', depends: [{ name: 'prep', offset: 0 }, { name: 'train', offset: 1 }],
      env: { EPOCHS: '3' }, retries: 1, directives: {},
    });
    expect(r.flow.tasks.get('publish')?.xtrigger).toBe('data_ready');
  });

  it('names file, line and column for an unknown task', () => {
    expect(error('tasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a, c] }\n')).toEqual({
      message: 'tasks.b.depends: unknown task "c"; did you mean "a"?', file: '/x/flow.yaml', line: 3, column: 37,
    });
  });

  it('rejects dependency cycles', () => {
    const e = error('tasks:\n  a: { script: "true", depends: [b] }\n  b: { script: "true", depends: [a] }\n');
    expect(e.message).toMatch(/dependency cycle/);
    expect(e.line).toBeGreaterThanOrEqual(2);
  });

  it('rejects bad keys with a suggestion, and wrong types', () => {
    expect(error('tasks:\n  a: { script: "true", retires: 1 }\n')).toMatchObject({ message: expect.stringMatching(/tasks\.a\.retires: unknown key; did you mean "retries"/), line: 2, column: 24 });
    expect(error('tasks:\n  a: { script: "true", retries: two }\n')).toMatchObject({ message: expect.stringMatching(/retries: must be a whole number/), line: 2 });
    expect(error('cycles: 0\ntasks:\n  a: { script: "true" }\n')).toMatchObject({ message: expect.stringMatching(/^cycles/), line: 1, column: 9 });
    expect(error('tasks:\n  a: { script: [1] }\n')).toMatchObject({ message: 'tasks.a.script: must be a string', line: 2 });
    expect(error('tasks:\n  a: { script: "x", depends: ["b[+1]"] }\n').message).toMatch(/not "name" or "name\[-k\]"/);
    expect(error('tasks: [a]\n').message).toMatch(/tasks: must be a mapping/);
    expect(error('tasks:\n  a: { script: "x"\n').line).toBeDefined();
  });
});

describe('operation arguments', () => {
  it('accepts good args with defaults and refuses bad ones naming the field', () => {
    expect(parseCommand('stop', [], undefined)).toEqual({ ok: true, op: 'stop', args: { mode: 'clean' }, tasks: [] });
    expect(parseCommand('set_outputs', ['a'], {})).toMatchObject({ ok: true, args: { outputs: ['succeeded'] } });
    expect(parseCommand('stop', [], { mode: 'soon' })).toMatchObject({ ok: false, message: expect.stringMatching(/^stop: args\.mode:/) });
    expect(parseCommand('broadcast', [], { mode: 'set', settings: { env: { '1X': 'y' } } })).toMatchObject({ ok: false, message: expect.stringMatching(/broadcast: args\.settings\.env/) });
    expect(parseCommand('message', ['a'], { severity: 'LOUD', text: 'hi' })).toMatchObject({ ok: false, message: expect.stringMatching(/args\.severity/) });
    expect(parseCommand('hold', [], {})).toMatchObject({ ok: false, message: expect.stringMatching(/hold: tasks:/) });
    expect(parseCommand('play', ['a'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/does not act on tasks/) });
    expect(parseCommand('read', [], {})).toMatchObject({ ok: false, message: expect.stringMatching(/unknown operation "read"/) });
    expect(parseCommand('hold', ['../x'], {})).toMatchObject({ ok: false });
    expect(parseCommand('play', [], { extra: 1 })).toMatchObject({ ok: false, message: expect.stringMatching(/play: args/) });
  });
});
