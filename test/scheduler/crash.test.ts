/**
 * Exactly once: a real engine process SIGKILLed at random points, again and again, while a
 * workflow runs. Every task appends its name to a ledger; in the end each name is there once,
 * every task succeeded, and no job process is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, groupAlive, jobPids, waitFor, waitStatus } from './helpers.js';
import { seededRandom } from '../../src/util/seeded-random.js';

const DRIVER = join(import.meta.dirname, 'fixtures/engine-driver.mjs');
const KILLS = 15;
const BUDGET_MS = 60_000;
const SEED = 0x5eed10;

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

function tasksYaml(ledger: string, independent: number): string {
  const lines = ['tasks:'];
  const script = `echo $FLOTILLA_TASK >> ${ledger}; sleep 0.2`;
  for (let i = 1; i <= independent; i++) lines.push(`  t${String(i).padStart(2, '0')}: { script: "${script}" }`);
  // A chain too, so that recovery also has to carry dependencies across kills.
  lines.push(`  c1: { script: "${script}" }`);
  for (let i = 2; i <= 4; i++) lines.push(`  c${i}: { script: "${script}", depends: [c${i - 1}] }`);
  return `${lines.join('\n')}\n`;
}

describe('exactly once under SIGKILL', () => {
  it(`runs every task exactly once through ${KILLS} random SIGKILLs of the engine`, async () => {
    const ledger = join(box.ownerDir, 'ledger');
    box.writeFlow('x', tasksYaml(ledger, 24));
    const random = seededRandom(SEED);
    const started = Date.now();
    let kills = 0;
    while (kills < KILLS && Date.now() - started < BUDGET_MS) {
      const child = spawn(process.execPath, [DRIVER, box.ownerDir, 'x', '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
      driver = child;
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      // The first engine must get as far as playing the workflow; after that, a random point:
      // sometimes while the engine is still starting (recovering), mostly while jobs run and end.
      if (kills === 0 || random() < 0.7) {
        await waitFor('the engine to start', () => output.includes('{"workflow":"x"'), 30_000);
        if (kills === 0) expect(output).toContain('"ok":true');
        await new Promise((r) => setTimeout(r, Math.floor(random() * 800)));
      } else {
        await new Promise((r) => setTimeout(r, Math.floor(random() * 1500)));
      }
      child.kill('SIGKILL');
      await waitFor('the killed engine to be gone', () => child.exitCode !== null || child.signalCode !== null);
      kills++;
    }
    driver = undefined;
    // On a loaded machine the time budget may end the drill early; a handful of kills still tests something.
    expect(kills).toBeGreaterThanOrEqual(5);

    // One last engine, left alone, finishes the run.
    const engine = await box.engine({ concurrency: 8 });
    const wf = await waitStatus(engine, 'x', 'stopped');
    expect(wf.lastRun).toMatchObject({ outcome: 'complete', failed: 0 });
    const names = [...Array(24).keys()].map((i) => `t${String(i + 1).padStart(2, '0')}`).concat(['c1', 'c2', 'c3', 'c4']);
    expect(wf.tasks.map((t) => [t.name, t.state]).sort()).toEqual(names.map((n) => [n, 'succeeded']).sort());
    const runs = readFileSync(ledger, 'utf8').trim().split('\n');
    const duplicates = runs.filter((n, i) => runs.indexOf(n) !== i);
    expect(duplicates).toEqual([]);
    expect(runs.sort()).toEqual(names.sort());
    // Nothing left behind: every job that ever claimed a folder has ended, with all it started.
    const pids = jobPids(box.runDir('x'));
    expect(pids.length).toBeGreaterThanOrEqual(names.length);
    await waitFor('every job process group to be gone', () => pids.every((pid) => !groupAlive(pid)));
  }, 120_000);
});
