/**
 * Damage to engine.sqlite found at run time (SQLITE_CORRUPT from any statement) stops the engine
 * cleanly with a message naming the file, instead of an uncaught exception. The damage is
 * injected at the store (real corruption is not reliably seen by an exclusive-mode connection
 * that has its pages cached).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineStore } from '../../src/scheduler/store.js';
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
