// Runs one benchmark file in its own process and collects what it printed, including the one
// `RESULT {...}` line each benchmark ends with (its figures as flat JSON).
import { spawn } from 'node:child_process';

/** @returns {Promise<{code: number, signal?: string, output: string, result: Record<string, number>, seconds: number}>} */
export function runBench(file, { cwd, env = {}, timeoutMs = 15 * 60_000 } = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    // Its own process group: a benchmark that overruns is killed with everything it started
    // (hubs, servers, jobs), which would otherwise hold its output open and outlive it.
    const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    // A benchmark that hangs must not hang the whole run: it is reported as failed. SIGTERM first,
    // to the whole group: a bench site's hub stops the workflow servers it started (they run in
    // sessions of their own, out of reach of a group kill) and what they left running; then
    // SIGKILL for whatever is still there.
    const signalGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    let killer;
    const timer = setTimeout(() => {
      output += `\n(stopped after ${Math.round(timeoutMs / 1000)} s)\n`;
      signalGroup('SIGTERM');
      killer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
    }, timeoutMs);
    const finish = (code, signal, extra = '') => {
      clearTimeout(timer);
      clearTimeout(killer);
      const text = output + extra;
      resolve({ code, signal, output: text.replace(/^RESULT .*$/m, '').trimEnd(), result: resultOf(text), seconds: (Date.now() - started) / 1000 });
    };
    child.on('error', (err) => finish(1, undefined, `${err.message}\n`));
    child.on('close', (code, signal) => finish(code ?? 1, signal ?? undefined));
  });
}

function resultOf(output) {
  const line = output.split('\n').reverse().find((l) => l.startsWith('RESULT '));
  if (!line) return {};
  try {
    return JSON.parse(line.slice('RESULT '.length));
  } catch {
    return {};
  }
}
