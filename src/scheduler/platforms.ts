/**
 * The site's platforms as the engine uses them: one job runner per platform (every `local` one
 * shares the local runner; each Slurm platform has its own, with its own batched polling).
 */
import { LOCAL_PLATFORM, type PlatformConfig } from '../config/site.js';
import type { Logger } from '../util/logger.js';
import type { JobRunner } from './job-runner.js';
import { LocalJobRunner } from './local-runner.js';
import { SlurmJobRunner } from './slurm/runner.js';

export class Platforms {
  private readonly runners = new Map<string, JobRunner>();
  private readonly directives = new Map<string, Record<string, string>>();

  /** `slurmRefusal`: why jobs may not go to any Slurm platform from this server (see EngineOptions). */
  constructor(configs: Record<string, PlatformConfig>, logger: Logger, slurmRefusal?: string, private readonly local: JobRunner = new LocalJobRunner()) {
    this.runners.set(LOCAL_PLATFORM, local);
    for (const [name, config] of Object.entries(configs)) {
      if (name === LOCAL_PLATFORM) continue;
      if (config.job_runner === 'slurm') {
        this.runners.set(name, new SlurmJobRunner(name, config, logger.child({ platform: name }), slurmRefusal));
        this.directives.set(name, config.directives);
      } else this.runners.set(name, local);
    }
  }

  /** Every platform name, `local` first. */
  get names(): string[] {
    return [...this.runners.keys()];
  }

  runner(platform: string | null | undefined): JobRunner | undefined {
    return this.runners.get(platform ?? LOCAL_PLATFORM);
  }

  /** The platform's own directives, under which a task's go. */
  directivesOf(platform: string | null | undefined): Record<string, string> {
    return this.directives.get(platform ?? LOCAL_PLATFORM) ?? {};
  }

  /** Every Slurm runner, for figures (squeue and sacct calls). */
  slurmRunners(): SlurmJobRunner[] {
    return [...this.runners.values()].filter((r): r is SlurmJobRunner => r instanceof SlurmJobRunner);
  }

  /** Has every Slurm platform ask its queue now (the poll operation). */
  askNow(): void {
    for (const runner of this.slurmRunners()) runner.askNow();
  }

  /** Readies a run folder for jobs: every runner uses the same wrapper, so one install serves all. */
  prepare(runDir: string): void {
    this.local.prepare(runDir);
  }

  close(): void {
    for (const runner of new Set(this.runners.values())) runner.close();
  }
}
