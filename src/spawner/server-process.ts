import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, fstatSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SECRET_ENV } from '../identity/proof.js';

/** Asks the kernel for a free loopback port. Another process may take it before the server
 * binds it; the spawner retries with a new port when the server reports EADDRINUSE. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/** Only what a server needs: never the hub's own secrets or credentials that happen to be in
 * its environment. `FLOTILLA_*` passes through (log level and the like). */
export function serverEnvironment(secret: string, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if (key === 'PATH' || key === 'HOME' || key === 'LANG' || key === 'NODE_ENV' || key.startsWith('FLOTILLA_')) {
      env[key] = value;
    }
  }
  env[SECRET_ENV] = secret;
  return env;
}

export function ownerDirectory(dataDir: string, owner: string): string {
  return join(dataDir, 'users', owner);
}

export function serverLogPath(dataDir: string, owner: string): string {
  return join(ownerDirectory(dataDir, owner), 'server.log');
}

export interface LaunchedServer {
  child: ChildProcess;
  pid: number;
  /** Size of server.log before this launch, so its own output can be told apart. */
  logOffset: number;
}

/**
 * Starts one server process in its own process group (it outlives the hub), with output
 * appended to `<data_dir>/users/<owner>/server.log` and the secret only in its environment.
 */
export function launchServer(opts: {
  dataDir: string;
  owner: string;
  argv: string[];
  secret: string;
}): LaunchedServer {
  const dir = ownerDirectory(opts.dataDir, opts.owner);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(serverLogPath(opts.dataDir, opts.owner), 'a', 0o600);
  try {
    const logOffset = fstatSync(fd).size;
    const child = spawn(process.execPath, opts.argv, {
      cwd: dir,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: serverEnvironment(opts.secret),
    });
    if (child.pid === undefined) {
      // spawn failed synchronously (e.g. execPath vanished); the 'error' event carries details.
      child.on('error', () => undefined);
      throw new Error(`could not start the workflow server process for ${opts.owner}`);
    }
    child.unref();
    return { child, pid: child.pid, logOffset };
  } finally {
    closeSync(fd);
  }
}

/** The last lines a server wrote to its log since `offset`, for error messages. */
export function logTail(path: string, offset = 0, maxLines = 20, maxBytes = 4096): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '(no log)';
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(offset, size - maxBytes);
    const length = Math.max(0, size - start);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, start);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    return lines.length ? lines.slice(-maxLines).join('\n') : '(log is empty)';
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: the pid was reused by someone else's process, so not our server.
    return false;
  }
}

/** Signals the whole process group (the server and anything it started in its group). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
