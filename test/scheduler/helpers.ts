import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { WorkflowEngine, type EngineOptions, type TaskView, type WorkflowView } from '../../src/scheduler/index.js';

/** A temporary owner directory with helpers to write workflows and run an engine on it. */
export class Sandbox {
  private readonly engines: WorkflowEngine[] = [];

  /** In a new temporary folder, or in `ownerDir`; cleanup removes it. */
  constructor(readonly ownerDir = mkdtempSync(join(tmpdir(), 'flotilla-sched-'))) {}

  writeFlow(name: string, yaml: string): string {
    const dir = join(this.ownerDir, 'workflows', name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'flow.yaml');
    writeFileSync(file, yaml);
    return file;
  }

  runDir(name: string): string {
    return join(this.ownerDir, 'runs', name);
  }

  async engine(options: Omit<EngineOptions, 'ownerDir'> = {}): Promise<WorkflowEngine> {
    const engine = new WorkflowEngine({ ownerDir: this.ownerDir, pollIntervalMs: 200, ...options });
    await engine.start();
    this.engines.push(engine);
    return engine;
  }

  async cleanup(): Promise<void> {
    for (const e of this.engines) {
      for (const wf of safeList(e)) {
        for (const t of wf.tasks) if (t.pid) killGroup(t.pid);
      }
      await e.close();
    }
    // Also every job any engine ever started here (a SIGKILLed engine leaves its jobs behind, and
    // a job waiting for a file in a deleted folder would wait for ever).
    for (const pid of jobPids(join(this.ownerDir, 'runs'))) killGroup(pid);
    rmSync(this.ownerDir, { recursive: true, force: true });
  }
}

/** A logger that keeps what it is told, for tests that check what the engine reported. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** True while any process of the group `pgid` (a job and what it started) exists. */
export { groupLives as groupAlive } from '../../src/util/process-group.js';


function safeList(e: WorkflowEngine): WorkflowView[] {
  try {
    return e.listWorkflows();
  } catch {
    return [];
  }
}

/** The pids recorded by job wrappers (job.pid) anywhere below `dir` (fenced folders hold none). */
export function jobPids(dir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return entries
    .filter((path) => path.endsWith('job.pid'))
    .map((path) => Number(readFileSync(join(dir, path), 'utf8').trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 1);
}

export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

import { waitFor } from '../wait.js';
export { waitFor };

export function task(engine: WorkflowEngine, workflow: string, id: string): TaskView | undefined {
  return engine.getWorkflow(workflow)?.tasks.find((t) => t.id === id);
}

export function states(engine: WorkflowEngine, workflow: string): Record<string, string> {
  return Object.fromEntries((engine.getWorkflow(workflow)?.tasks ?? []).map((t) => [t.id, t.state]));
}

export async function waitState(engine: WorkflowEngine, workflow: string, id: string, state: string, timeoutMs?: number): Promise<TaskView> {
  return waitFor(`${workflow} ${id} to be ${state} (now ${task(engine, workflow, id)?.state})`, () => {
    const t = task(engine, workflow, id);
    return t?.state === state ? t : undefined;
  }, timeoutMs);
}

export async function waitStatus(engine: WorkflowEngine, workflow: string, status: string): Promise<WorkflowView> {
  return waitFor(`${workflow} to be ${status}`, () => {
    const w = engine.getWorkflow(workflow);
    return w?.status === status ? w : undefined;
  });
}

export async function ok(engine: WorkflowEngine, op: string, workflow: string, tasks?: string[], args?: unknown): Promise<string> {
  const [result] = await engine.command(op, { workflows: [workflow], tasks, args, by: 'tester' });
  if (!result?.ok) throw new Error(`${op} refused: ${result?.message}`);
  return result.message;
}

const REPO = join(import.meta.dirname, '..', '..');

