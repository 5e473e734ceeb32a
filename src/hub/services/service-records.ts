import { readFileSync } from 'node:fs';
import type { HubDatabase } from '../db.js';

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat), or
 * undefined when there is no such process or only its zombie. With the pid it names one process
 * for good: a pid reused by another program has another start time.
 */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export interface ServiceProcess {
  name: string;
  pid: number;
  startTicks: string;
}

/**
 * The services' processes that are running, in the hub database. A hub that is SIGKILLed
 * cannot stop its services (they run in process groups of their own); the next hub finds them
 * here and stops them before starting fresh ones, so a service never runs twice.
 */
export class ServiceRecords {
  private readonly stmts;

  constructor(db: HubDatabase) {
    db.exec(`CREATE TABLE IF NOT EXISTS service_processes (
      name TEXT PRIMARY KEY,
      pid INTEGER NOT NULL,
      start_ticks TEXT NOT NULL
    )`);
    this.stmts = {
      all: db.prepare<[], { name: string; pid: number; start_ticks: string }>('SELECT name, pid, start_ticks FROM service_processes'),
      save: db.prepare<[string, number, string]>('INSERT OR REPLACE INTO service_processes (name, pid, start_ticks) VALUES (?, ?, ?)'),
      forget: db.prepare<[string, number]>('DELETE FROM service_processes WHERE name = ? AND pid = ?'),
    };
  }

  /** Recorded processes that still run (same pid, same start time). Gone ones are forgotten. */
  leftovers(): ServiceProcess[] {
    const alive: ServiceProcess[] = [];
    for (const row of this.stmts.all.all()) {
      if (processStartTicks(row.pid) === row.start_ticks) alive.push({ name: row.name, pid: row.pid, startTicks: row.start_ticks });
      else this.stmts.forget.run(row.name, row.pid);
    }
    return alive;
  }

  save(name: string, pid: number, startTicks: string): void {
    this.stmts.save.run(name, pid, startTicks);
  }

  forget(name: string, pid: number): void {
    this.stmts.forget.run(name, pid);
  }
}
