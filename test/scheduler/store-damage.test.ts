/**
 * The engine store when things go wrong. Exactly once across a power cut: a submission is on the
 * disk before its job can start; only the transactions that commit submissions wait for the disk
 * (synchronous FULL), the others (one or two per job event) commit at NORMAL, made durable by the
 * next submission's sync.
 *
 * Damage to engine.sqlite found at run time (SQLITE_CORRUPT from any statement) stops the engine
 * cleanly with a message naming the file, instead of an uncaught exception. The damage is
 * injected at the store (real corruption is not reliably seen by an exclusive-mode connection
 * that has its pages cached).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

describe('a database damaged at run time', () => {
  it('stops the engine with a message naming engine.sqlite, and the next engine can take the folder', async () => {
    box.writeFlow('d', 'tasks:\n  a: { script: "true" }\n');
    let fatal: Error | undefined;
    const engine = await box.engine({ onFatal: (err) => (fatal = err) });
    vi.spyOn(EngineStore.prototype, 'saveWorkflow').mockImplementation(() => {
      throw new Database.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT');
    });
    const [result] = await engine.command('play', { workflows: ['d'], by: 'tester' });
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/not done/) });
    const err = await waitFor('the engine to give up', () => fatal);
    const file = join(box.ownerDir, '.flotilla', 'engine.sqlite');
    expect(err.message).toContain(`the workflow engine's database ${file} failed at run time (SQLITE_CORRUPT: database disk image is malformed)`);
    expect(err.message).toMatch(/Restore the file from a backup/);
    await expect(engine.command('play', { workflows: ['d'], by: 'tester' })).rejects.toThrow(/engine is not running/);
    // It let go of the folder: its lock is released.
    vi.restoreAllMocks();
    const next = await box.engine();
    expect(next.getWorkflow('d')!.status).toBe('stopped');
  });
});

const SYNCHRONOUS_FULL = 2;
const SYNCHRONOUS_NORMAL = 1;

describe('a power cut', () => {
  it('finds every submission synced to the disk before its job started, and the store back at NORMAL after', async () => {
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
