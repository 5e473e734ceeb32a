/**
 * `bin/flotilla server` as a real process, started the way the hub starts it: with an IPC channel
 * for the start message and the server's report. Needs dist/ (npm run build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseServerReport, type ServerReport } from '../../src/identity/launch.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flotilla');

export interface ServerProcess {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  report: Promise<ServerReport>;
}

export function runServerProcess(args: string[], ipc = true): ServerProcess {
  const child = spawn(process.execPath, [BIN, 'server', ...args], {
    env: { ...process.env, FLOTILLA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const report = new Promise<ServerReport>((resolve) => {
    child.on('message', (m) => {
      const parsed = parseServerReport(m);
      if (parsed) resolve(parsed);
    });
  });
  return { child, output: () => output, exit, report };
}
