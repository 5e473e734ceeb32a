// What the benchmarks read of other processes, from /proc: CPU time, resident memory, and the
// processes a benchmark's site left behind.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in ms; NaN once it is gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces; utime and
    // stime are fields 14 and 15 of stat, 11 and 12 counted from the state here.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** Resident memory of a process now, in MB (VmRSS); NaN once it is gone. */
export function rssMb(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Proportional memory of a process now, in MB (Pss of /proc/PID/smaps_rollup): its private pages,
 * and its share of those it shares, such as node's own code with every other node process. NaN
 * once it is gone or when it may not be read. */
export function pssMb(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; `stop()` gives the largest seen. */
export function sampleRss(pid, everyMs = 50) {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    const now = rssMb(pid);
    if (now > peak) peak = now;
  }, everyMs);
  return { stop: () => (clearInterval(timer), peak) };
}

/** SIGKILL to every process (and its group) whose command line or working folder is under `dir`:
 * jobs outlive their workflow server by design, a benchmark's must not. */
export function killProcessesUnder(dir) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let under = false;
    try {
      under = readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir) || readlinkSync(`/proc/${entry}/cwd`).startsWith(dir);
    } catch {
      continue;
    }
    if (!under) continue;
    for (const target of [-Number(entry), Number(entry)]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
  }
}
