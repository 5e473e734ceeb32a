import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  await box.cleanup();
});

const FLOW = 'cycles: 1\ntasks:\n  gate: { script: "true", xtrigger: go }\n  say: { script: "echo $WORD", depends: [gate] }\n';

describe('broadcast origin', () => {
  it('records who set a broadcast and when, and keeps both over a restart', async () => {
    box.writeFlow('b', FLOW);
    const engine = await box.engine();
    const before = Date.now();
    const [result] = await engine.command('broadcast', { workflows: ['b'], args: { mode: 'set', settings: { env: { WORD: 'hi' } }, namespaces: ['say'] }, by: 'bob' });
    expect(result?.ok).toBe(true);
    const [b] = engine.getWorkflow('b')!.broadcasts;
    expect(b?.setBy).toBe('bob');
    const setAt = Date.parse(b!.setAt!);
    expect(setAt).toBeGreaterThanOrEqual(before - 1000);
    expect(setAt).toBeLessThanOrEqual(Date.now() + 1000);

    await engine.close();
    const again = await box.engine();
    expect(again.getWorkflow('b')!.broadcasts).toEqual([b]);
  });

  it('migrates a database made before broadcasts recorded their setter, keeping its rows', async () => {
    box.writeFlow('b', FLOW);
    // The broadcasts table exactly as engines created it before set_by/set_at existed.
    const file = join(box.ownerDir, '.flotilla', 'engine.sqlite');
    mkdirSync(join(box.ownerDir, '.flotilla'), { recursive: true });
    const old = new Database(file);
    old.exec(`CREATE TABLE broadcasts (
      workflow TEXT NOT NULL, cycle_point TEXT NOT NULL, namespace TEXT NOT NULL, env TEXT NOT NULL,
      script TEXT, seq INTEGER NOT NULL, PRIMARY KEY (workflow, cycle_point, namespace))`);
    old.prepare('INSERT INTO broadcasts VALUES (?, ?, ?, ?, ?, ?)').run('b', '*', 'say', JSON.stringify({ WORD: 'old' }), null, 1);
    old.close();

    const engine = await box.engine();
    expect(engine.getWorkflow('b')!.broadcasts).toEqual([
      { id: '*/say', cyclePoint: '*', namespace: 'say', settings: { env: { WORD: 'old' } }, seq: 1, setBy: null, setAt: null },
    ]);
    const [result] = await engine.command('broadcast', { workflows: ['b'], args: { mode: 'set', settings: { env: { WORD: 'new' } }, cyclePoints: ['1'], namespaces: ['gate'] }, by: 'alice' });
    expect(result?.ok).toBe(true);
    expect(engine.getWorkflow('b')!.broadcasts.map((x) => [x.id, x.setBy])).toEqual([['*/say', null], ['1/gate', 'alice']]);

    // A second start on the migrated file finds the columns there and adds nothing.
    await engine.close();
    const again = await box.engine();
    expect(again.getWorkflow('b')!.broadcasts.map((x) => [x.id, x.setBy])).toEqual([['*/say', null], ['1/gate', 'alice']]);
    await again.close();
    const check = new Database(file, { readonly: true });
    const columns = check.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('broadcasts')").all().map((c) => c.name);
    check.close();
    expect(columns).toEqual(['workflow', 'cycle_point', 'namespace', 'env', 'script', 'seq', 'set_by', 'set_at', 'platform', 'directives']);
  });
});
