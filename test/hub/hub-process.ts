/**
 * A real hub process (`bin/flotilla hub`) on a free loopback port, for what only a process can
 * show: its exit status, its signals, its stderr. dist/ must be built.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO } from '../config/run-flotilla.js';

export interface HubProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote so far, stdout and stderr together. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the process if it is still running. */
  kill(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts `bin/flotilla hub --config FILE` and waits until it listens (or fails on exit). */
export async function startHubProcess(configFile: string, port: number, args: string[] = []): Promise<HubProcess> {
  const child = spawn(process.execPath, [join(REPO, 'bin/flotilla'), 'hub', '--config', configFile, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOTILLA_LOG_FORMAT: 'json' },
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  await expect.poll(() => gone || output.includes('hub listening'), { timeout: 60_000, interval: 50 }).toBe(true);
  if (gone) throw new Error(`the hub exited before listening:\n${output}`);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    kill: () => {
      if (!gone) child.kill('SIGKILL');
    },
  };
}
