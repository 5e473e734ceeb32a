import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, killGroup, ok, task, waitFor, waitState, waitStatus } from './helpers.js';

let box: Sandbox;
let driver: ChildProcess | undefined;

beforeEach(() => {
  box = new Sandbox();
});
afterEach(async () => {
  driver?.kill('SIGKILL');
  driver = undefined;
  await box.cleanup();
});

function jobFile(workflow: string, name: string, file: string): string {
  return join(box.runDir(workflow), 'log/job/1', name, '01', file);
}

function readPid(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

describe('crash recovery', () => {
  it('sends a kill the engine recorded but died before sending, and the job ends killed, not retried', async () => {
    box.writeFlow('k', 'tasks:\n  stubborn: { script: "sleep 60", retries: 1 }\n');
    const first = await box.engine();
    await ok(first, 'play', 'k');
    await waitState(first, 'k', '1/stubborn', 'running');
    await first.close();
    // As if the engine had committed the kill and died before signalling the job.
    const db = new Database(join(box.ownerDir, '.flotilla', 'engine.sqlite'));
    expect(db.prepare("UPDATE tasks SET killing = '1' WHERE workflow = 'k' AND name = 'stubborn'").run().changes).toBe(1);
    db.close();

    const second = await box.engine();
    const ended = await waitState(second, 'k', '1/stubborn', 'failed');
    expect(ended).toMatchObject({ exitCode: 143, submitNum: 1 });
    expect(second.workflowLog('k').some((e) => e.kind === 'failed' && e.text.includes('job 1 killed'))).toBe(true);
  });

  it('after SIGKILL of the engine, finds running jobs again, takes real exit statuses, fails lost jobs', async () => {
    box.writeFlow('cr', `tasks:
  slow: { script: "while [ ! -f go-slow ]; do sleep 0.05; done" }
  quick: { script: "while [ ! -f go-quick ]; do sleep 0.05; done; exit 7" }
  lost: { script: "sleep 60" }
  after: { script: "echo after", depends: [slow] }
`);
    driver = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/engine-driver.mjs'), box.ownerDir, 'cr'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    driver.stdout!.on('data', (d) => (output += d));
    await waitFor('driver to play', () => output.includes('"ok":true'));
    const pids = await waitFor('three jobs started', () => {
      const p = ['slow', 'quick', 'lost'].map((n) => readPid(jobFile('cr', n, 'job.pid')));
      return p.every((x) => x !== undefined) ? (p as number[]) : undefined;
    });
    // The wrapper writes job.pid before the engine commits the job: wait for the commit too (the
    // engine publishes only what it has committed), so that the kill lands in the state this test
    // is about (jobs the engine knows are running).
    await waitFor('the engine to record the three jobs as running', () =>
      ['slow', 'quick', 'lost'].every((n) => output.includes(`state 1/${n} running\n`)));
    driver.kill('SIGKILL');
    await waitFor('driver dead', () => driver!.exitCode !== null || driver!.signalCode !== null);
    // While no engine watches: one job finishes with a status, one vanishes without one.
    writeFileSync(join(box.runDir('cr'), 'go-quick'), '');
    await waitFor('quick status recorded', () => existsSync(jobFile('cr', 'quick', 'job.status')));
    killGroup(pids[2]!);
    await waitFor('lost job gone', () => {
      try {
        process.kill(pids[2]!, 0);
        return false;
      } catch {
        return true;
      }
    });

    const engine = await box.engine();
    expect(engine.getWorkflow('cr')!.status).toBe('running');
    expect(task(engine, 'cr', '1/quick')).toMatchObject({ state: 'failed', exitCode: 7 });
    expect(task(engine, 'cr', '1/lost')).toMatchObject({ state: 'failed' });
    expect(task(engine, 'cr', '1/lost')!.exitCode).toBeUndefined();
    expect(task(engine, 'cr', '1/slow')).toMatchObject({ state: 'running', pid: pids[0] });
    expect(engine.workflowLog('cr').some((e) => e.kind === 'lost')).toBe(true);
    writeFileSync(join(box.runDir('cr'), 'go-slow'), '');
    await waitState(engine, 'cr', '1/slow', 'succeeded');
    await waitState(engine, 'cr', '1/after', 'succeeded');
    // quick and lost failed: the workflow stalls (as in Cylc 8) rather than stopping.
    await waitStatus(engine, 'cr', 'stalled');
  });
});
