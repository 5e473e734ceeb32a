import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/flotilla', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/flotilla` as a real process (dist/ must be built: `npx tsc -p tsconfig.build.json`),
 * feeding `input` on stdin. Killed if it outlives the deadline, so a hang fails instead of stalling.
 */
export function runFlotilla(args: string[], options: { input?: string; cwd?: string; deadlineMs?: number; as?: { uid: number; gid: number } } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO, stdio: ['pipe', 'pipe', 'pipe'], ...options.as });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.deadlineMs ?? 25_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {
      // the command may exit before reading stdin; that is its answer, not a test failure
    });
    child.stdin.end(options.input ?? '');
  });
}
