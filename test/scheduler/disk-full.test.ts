/**
 * A task fills the disk the engine's database lives on (a small tmpfs, so root only): the engine
 * neither crashes nor loses the job's ending; it stops submitting, reports it, retries, and goes
 * on when space comes back.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, capturingLogger, ok, states, waitFor, waitStatus } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const mountPoint = mkdtempSync(join(tmpdir(), 'flotilla-full-'));
let mounted = false;

beforeAll(() => {
  if (!isRoot) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
  mounted = true;
});
afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('a full disk', () => {
  it('makes the engine back off and resume, not crash, and keeps what the filling job did', async () => {
    const ownerDir = join(mountPoint, 'owner');
    mkdirSync(ownerDir);
    const box = new Sandbox(ownerDir);
    try {
      box.writeFlow('f', `tasks:
  fill: { script: "head -c 64M /dev/zero > big 2>/dev/null; exit 0" }
  after1: { script: "echo one", depends: [fill] }
  after2: { script: "echo two", depends: [fill] }
`);
      const { logger, lines } = capturingLogger();
      const engine = await box.engine({ logger });
      await ok(engine, 'play', 'f');
      await waitFor('the engine to report the full disk', () => lines.some((l) => /^disk full/.test(String(l.msg))), 30_000);
      expect(engine.getWorkflow('f')!.status).toBe('running');
      expect(['waiting', 'preparing']).toContain(states(engine, 'f')['1/after1']);

      // The report names the database the engine could not write.
      expect(lines.find((l) => /^disk full/.test(String(l.msg)))).toMatchObject({ file: join(ownerDir, '.flotilla', 'engine.sqlite') });
      rmSync(join(box.runDir('f'), 'big'));
      await waitFor('the engine to find space again', () => lines.some((l) => /^disk space is back/.test(String(l.msg))), 30_000);
      const done = await waitStatus(engine, 'f', 'stopped').catch((err: Error) => {
        throw new Error(`${err.message}\nstates: ${JSON.stringify(states(engine, 'f'))}\nlog: ${lines.map((l) => String(l.msg)).join(' | ')}\nworkflow log: ${engine.workflowLog('f').map((e) => `${e.kind}: ${e.text}`).join(' | ')}`);
      });
      expect(done.lastRun).toMatchObject({ outcome: 'complete', failed: 0 });
      expect(states(engine, 'f')).toEqual({ '1/fill': 'succeeded', '1/after1': 'succeeded', '1/after2': 'succeeded' });
      expect(engine.jobLog({ workflow: 'f', task: '1/after1', file: 'job.out' }).content).toBe('one\n');
    } finally {
      await box.cleanup();
    }
  }, 90_000);
});
