/**
 * What Linux's /proc says about processes: which live, when each started (which names one
 * process for good, since a reused pid has another start time), and their files (cmdline,
 * environ, status). Every reader answers undefined for a process that is gone or unreadable.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The pids of every process now (a snapshot: some may be gone by the time they are read). */
export function livePids(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

export function readProcFile(pid: number, file: 'cmdline' | 'environ' | 'status' | 'stat'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat), or
 * undefined when there is no such process or only its zombie.
 */
export function processStartTicks(pid: number): string | undefined {
  const stat = readProcFile(pid, 'stat');
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' ? undefined : fields[19];
}

/** A process's environment as it was started (NUL-separated NAME=value), as a map. */
export function processEnvironment(pid: number): Map<string, string> | undefined {
  const text = readProcFile(pid, 'environ');
  if (text === undefined) return undefined;
  const env = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}
