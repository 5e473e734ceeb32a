import type { ServiceConfig } from '../../config/index.js';
import { signalGroup } from '../../spawner/index.js';
import type { Logger } from '../../util/logger.js';
import type { HubDatabase } from '../db.js';
import { ManagedService } from './managed-service.js';
import { killGroupOf } from '../../util/process-group.js';
import { hubApiUrl, serviceEnvironment } from './service-environment.js';
import { processStartTicks } from '../../util/proc.js';
import { markedServiceProcesses, serviceMark, ServiceRecords, type ServiceProcess } from './service-records.js';

export interface HubServicesOptions {
  services: readonly ServiceConfig[];
  /** The API token service `name` runs with (JUPYTERHUB_API_TOKEN), the one the hub accepts from it. */
  tokenFor(name: string): string;
  db: HubDatabase;
  /** Where a service without `cwd` runs. */
  dataDir: string;
  /** SIGTERM to SIGKILL, for services and for leftovers of a previous hub. */
  stopGraceMs: number;
  logger: Logger;
}

const LEFTOVER_POLL_MS = 50;

/**
 * JupyterHub's `services` that have a `command` run while the hub does. They are started once
 * the hub listens (their first request must find it), run as the hub's own account (JupyterHub's
 * default; the site file that names the command is the administrator's), and stopped when the
 * hub closes.
 */
export class HubServices {
  private readonly records: ServiceRecords;
  private readonly running: ManagedService[] = [];

  constructor(private readonly opts: HubServicesOptions) {
    this.records = new ServiceRecords(opts.db);
  }

  /** Stops what a killed hub left running, then starts every service that has a command. */
  async start(listening: { host: string; port: number }): Promise<void> {
    const leftovers = new Map<number, ServiceProcess>();
    for (const p of [...this.records.leftovers(), ...markedServiceProcesses(this.opts.dataDir)]) leftovers.set(p.pid, p);
    await Promise.all([...leftovers.values()].map((p) => this.stopLeftover(p)));
    const apiUrl = hubApiUrl(listening.host, listening.port);
    for (const service of this.opts.services) {
      if (!service.command) continue;
      const env = { ...serviceEnvironment(service, { token: this.opts.tokenFor(service.name), apiUrl }), ...serviceMark(this.opts.dataDir, service.name) };
      const managed = new ManagedService(
        { name: service.name, command: service.command, env, cwd: service.cwd ?? this.opts.dataDir },
        this.records,
        this.opts.logger.child({ service: service.name }),
      );
      this.running.push(managed);
      managed.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.map((m) => m.stop(this.opts.stopGraceMs)));
  }

  private async stopLeftover(leftover: ServiceProcess): Promise<void> {
    const gone = () => processStartTicks(leftover.pid) !== leftover.startTicks;
    this.opts.logger.warn({ service: leftover.name, pid: leftover.pid }, 'stopping a service process that a previous hub left running');
    signalGroup(leftover.pid, 'SIGTERM');
    const deadline = Date.now() + this.opts.stopGraceMs;
    while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, LEFTOVER_POLL_MS));
    // The process itself if it is still the one found (it may lead no group: a service's child),
    // and whatever is left in its group.
    if (!gone()) {
      try {
        process.kill(leftover.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    killGroupOf(leftover.pid);
    this.records.forget(leftover.name, leftover.pid);
  }
}
