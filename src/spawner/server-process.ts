import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { StartMessage } from '../identity/launch.js';
import type { SystemAccount } from './system-account.js';
import { livePids, readProcFile } from '../util/proc.js';

/** Only what a server needs: never the hub's own secrets or credentials that happen to be in
 * its environment. `FLOTILLA_*` passes through (log level and the like), and `SLURM_CONF` (where
 * the Slurm commands find the cluster, when it is not /etc/slurm/slurm.conf). The server's secret is
 * not here either: it travels over the start-up channel (identity/launch.ts), so neither
 * /proc/PID/environ nor a job's inherited environment can show it. */
function serverEnvironment(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if (key === 'PATH' || key === 'HOME' || key === 'LANG' || key === 'NODE_ENV' || key === 'SLURM_CONF' || key.startsWith('FLOTILLA_')) {
      env[key] = value;
    }
  }
  return env;
}

/** The environment of a server run as `account`: its own home and names, not the hub's. */
function accountEnvironment(account: SystemAccount): NodeJS.ProcessEnv {
  return { ...serverEnvironment(), HOME: account.home, USER: account.name, LOGNAME: account.name };
}

/**
 * Opens server.log for appending as root inside a folder the owner controls: never through a
 * symbolic link, never a file with other hard links (it could be any file on the machine). The
 * log stays root-owned so the owner cannot swap or rewrite it by name, readable by the owner's
 * group so they can see their server's output.
 */
function openOwnerLog(path: string, account: SystemAccount): number {
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants;
  const fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o640);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1) throw new Error(`${path} is not a plain file of its own (a FIFO, device or hard link); move it away`);
    fchownSync(fd, 0, account.gid);
    fchmodSync(fd, 0o640);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
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
 * appended to `<data_dir>/users/<owner>/server.log`, and sends it the start message over the
 * IPC channel. With `account`, the process runs with that account's uid and gid (see
 * claimOwnerFolder for the folder it needs to own first).
 */
export function launchServer(opts: {
  dataDir: string;
  owner: string;
  argv: string[];
  start: StartMessage;
  account?: SystemAccount;
}): LaunchedServer {
  const dir = ownerDirectory(opts.dataDir, opts.owner);
  const account = opts.account;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logPath = serverLogPath(opts.dataDir, opts.owner);
  const fd = account ? openOwnerLog(logPath, account) : openSync(logPath, 'a', 0o600);
  try {
    const logOffset = fstatSync(fd).size;
    const child = spawn(process.execPath, opts.argv, {
      cwd: dir,
      detached: true,
      stdio: ['ignore', fd, fd, 'ipc'],
      env: account ? accountEnvironment(account) : serverEnvironment(),
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    if (child.pid === undefined) {
      // spawn failed synchronously (e.g. execPath vanished); the 'error' event carries details.
      child.on('error', () => undefined);
      throw new Error(`could not start the workflow server process for ${opts.owner}`);
    }
    child.unref();
    // The channel must not keep the hub alive, nor the hub's exit wait for it.
    child.channel?.unref();
    child.send(opts.start, (err) => {
      // A server that dies before reading it is noticed by its exit; nothing to add here.
      if (err) child.emit('error', err);
    });
    return { child, pid: child.pid, logOffset };
  } finally {
    closeSync(fd);
  }
}

/** The last lines a server wrote to its log since `offset`, for error messages. */
export function logTail(path: string, offset = 0, maxLines = 20, maxBytes = 4096): string {
  let fd: number;
  try {
    // The owner controls the folder: a link planted there must not show the hub's files in a message.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '(no log)';
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return '(log is not a plain file)';
    const size = st.size;
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

function commandLine(pid: number): string[] | undefined {
  return readProcFile(pid, 'cmdline')?.split('\0');
}

/** The owner of a command line `… server --owner O … --data-dir D …` on `dataDir`, if it is one. */
function serverCommandOwner(argv: string[], dataDir: string): string | undefined {
  const valueOf = (flag: string) => {
    const at = argv.indexOf(flag);
    return at > 0 ? argv[at + 1] : undefined;
  };
  return argv.includes('server') && valueOf('--data-dir') === dataDir ? valueOf('--owner') : undefined;
}

/**
 * Live workflow-server processes on `dataDir`, found by their command lines: what a hub that died
 * mid-start may have left, whether or not it had recorded the pid yet, and what outlives a hub.
 */
export function serverProcessesOn(dataDir: string): { pid: number; owner: string }[] {
  const found: { pid: number; owner: string }[] = [];
  for (const pid of livePids()) {
    const argv = commandLine(pid);
    const owner = argv && serverCommandOwner(argv, dataDir);
    if (owner) found.push({ pid, owner });
  }
  return found;
}

export function serverProcessesOf(owner: string, dataDir: string): number[] {
  return serverProcessesOn(dataDir).filter((p) => p.owner === owner).map((p) => p.pid);
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
