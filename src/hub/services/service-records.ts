import { livePids, processEnvironment, processStartTicks } from '../../util/proc.js';
import type { HubDatabase } from '../db.js';

/** Set in every service's environment: the hub (by its data_dir) and the service that started it. */
const MARK_HUB = 'FLOTILLA_HUB_DATA_DIR';
const MARK_SERVICE = 'FLOTILLA_HUB_SERVICE';

export function serviceMark(dataDir: string, name: string): Record<string, string> {
  return { [MARK_HUB]: dataDir, [MARK_SERVICE]: name };
}

/**
 * Live processes that a hub on `dataDir` started as services (or that they started), found by
 * the mark in their environment: what a hub SIGKILLed between starting a service and recording
 * its pid left behind, which no record names.
 */
export function markedServiceProcesses(dataDir: string): ServiceProcess[] {
  const found: ServiceProcess[] = [];
  for (const pid of livePids()) {
    if (pid === process.pid) continue;
    const env = processEnvironment(pid);
    const name = env?.get(MARK_HUB) === dataDir ? env.get(MARK_SERVICE) : undefined;
    const startTicks = name === undefined ? undefined : processStartTicks(pid);
    if (name !== undefined && startTicks !== undefined) found.push({ name, pid, startTicks });
  }
  return found;
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
