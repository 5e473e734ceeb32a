/**
 * Exactly once across a power cut: a submission is on the disk before its job can start. Only
 * the transactions that commit submissions wait for the disk (synchronous FULL); the others, one
 * or two per job event, commit at NORMAL, made durable by the next submission's sync.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineStore, type TaskRow } from '../../src/scheduler/store.js';
import { Sandbox, waitFor } from './helpers.js';

let box: Sandbox;
beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await box.cleanup();
});

const SYNCHRONOUS_FULL = 2;
const SYNCHRONOUS_NORMAL = 1;

describe('the engine store', () => {
  it('commits every submission in a transaction synced to disk, and the rest without a sync each', async () => {
    const durable = EngineStore.prototype.durableTransaction;
    const save = EngineStore.prototype.saveTask;
    let inDurable = 0;
    const syncModes: number[] = [];
    const submissions: { name: string; durable: boolean }[] = [];
    vi.spyOn(EngineStore.prototype, 'durableTransaction').mockImplementation(function (this: EngineStore, fn) {
      return durable.call(this, () => {
        syncModes.push(this.db.pragma('synchronous', { simple: true }) as number);
        inDurable++;
        try {
          return fn();
        } finally {
          inDurable--;
        }
      });
    });
    vi.spyOn(EngineStore.prototype, 'saveTask').mockImplementation(function (this: EngineStore, row: TaskRow) {
      if (row.state === 'preparing') submissions.push({ name: row.name, durable: inDurable > 0 });
      return save.call(this, row);
    });
    box.writeFlow('w', 'tasks:\n  a: { script: "true" }\n  b: { script: "true", depends: [a] }\n  c: { script: "true", depends: [a] }\n');
    const engine = await box.engine();
    const [result] = await engine.command('play', { workflows: ['w'], by: 'tester' });
    expect(result?.ok).toBe(true);
    await waitFor('the run to end', () => engine.getWorkflow('w')!.stateCounts.succeeded === 3 || undefined);
    expect(submissions.map((s) => s.name).sort()).toEqual(['a', 'b', 'c']);
    expect(submissions.every((s) => s.durable)).toBe(true);
    expect(syncModes.length).toBeGreaterThan(0);
    expect(syncModes.every((mode) => mode === SYNCHRONOUS_FULL)).toBe(true);
    const store = (engine as unknown as { store: EngineStore }).store;
    expect(store.db.pragma('synchronous', { simple: true })).toBe(SYNCHRONOUS_NORMAL);
  });
});
