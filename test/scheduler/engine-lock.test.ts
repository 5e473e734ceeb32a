import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStart } from '../../src/scheduler/engine-lock.js';
import { Sandbox, waitFor } from './helpers.js';

let box: Sandbox;
let driver: ChildProcess | undefined;

beforeEach(() => {
  box = new Sandbox();
  box.writeFlow('w', 'tasks:\n  a: { script: "true" }\n');
});
afterEach(async () => {
  driver?.kill('SIGKILL');
  driver = undefined;
  await box.cleanup();
});

const lockFile = () => join(box.ownerDir, '.flotilla', 'engine.lock');

describe('one engine per owner folder', () => {
  it('a second engine refuses, naming the pid of the engine that holds the folder; SQLite is locked too', async () => {
    driver = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/engine-driver.mjs'), box.ownerDir, 'w'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    driver.stdout!.on('data', (d) => (output += d));
    await waitFor('the first engine to start', () => output.includes('"workflow":"w"'));
    await expect(box.engine()).rejects.toThrow(new RegExp(`another workflow engine \\(pid ${driver.pid}\\) already runs for this owner folder`));
    // The second line of defence: the database itself is held exclusively.
    const db = new Database(join(box.ownerDir, '.flotilla', 'engine.sqlite'), { fileMustExist: true, timeout: 100 });
    try {
      expect(() => db.prepare('SELECT count(*) FROM tasks').get()).toThrow(/locked/);
    } finally {
      db.close();
    }
  });

  it('takes over a stale lock: its holder is gone, or its pid now belongs to a process started at another time', async () => {
    mkdirSync(join(box.ownerDir, '.flotilla'), { recursive: true });
    const gone = spawn(process.execPath, ['-e', '']);
    await waitFor('a process to come and go', () => gone.exitCode !== null);
    writeFileSync(lockFile(), `${gone.pid} 12345\n`);
    const first = await box.engine();
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid} ${processStart(process.pid)}\n`);
    await first.close();
    expect(() => readFileSync(lockFile())).toThrow(/ENOENT/);

    // This very process's pid, but a start time that is not its own: a pid reused since.
    writeFileSync(lockFile(), `${process.pid} 1\n`);
    const second = await box.engine();
    expect(second.listWorkflows().map((w) => w.id)).toEqual(['w']);
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid} ${processStart(process.pid)}\n`);
  });
});
