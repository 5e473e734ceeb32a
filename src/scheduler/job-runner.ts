/**
 * What the engine needs from whatever runs its jobs: the local runner (local-runner.ts) runs
 * them as processes on this machine, the Slurm runner (slurm/runner.ts) hands them to a cluster.
 *
 * Every submission has its own job folder that is never reused. The runner must make "did this
 * submission start?" answerable after a crash of the engine, and must let recovery FENCE a
 * submission that had not started yet, so that it can never start afterwards: that is what lets
 * the engine resubmit it under a new number without running it twice.
 */
export interface JobSubmission {
  runDir: string;
  /** This submission's own, new folder (the runner creates it; it must not exist yet). */
  jobDir: string;
  script: string;
  env: Record<string, string>;
  /** Batch-system options (`{"--time": "00:10:00"}`), the platform's merged with the task's. */
  directives: Record<string, string>;
  /** A readable name for the job where the batch system shows one (`workflow.cycle.task`). */
  label: string;
}

export interface JobEvents {
  started(): void;
  exited(status: number): void;
  /** The job ended without an exit status of its own (its process or node died): it may have run partly. */
  lost(reason: string): void;
  /** The job left the batch queue without ever starting (cancelled or refused while queued). */
  neverStarted(reason: string): void;
}

/** How a submitted job is known: by its process (local) or by the batch system's job id. */
export interface SubmittedJob {
  pid?: number;
  jobId?: string;
}

/** Everything known of one submission, for looking at it or killing it. */
export interface JobRef extends SubmittedJob {
  jobDir: string;
}

/** What a job folder (and, for a batch system, its queue) says about a submission. */
export type JobCheck =
  | { kind: 'finished'; status: number }
  | ({ kind: 'running' } & SubmittedJob)
  /** Claimed by a process that is gone and left no exit status: it may have run partly. */
  | { kind: 'lost'; reason?: string }
  /** Nothing has claimed it yet (it may wait in a batch queue), or a claim is being made. */
  | { kind: 'unclaimed' }
  /** It never ran and now never will (fenced by recovery, or gone from the queue unstarted). */
  | { kind: 'never-started'; reason?: string };

export interface JobRunner {
  /** Makes a run folder ready for jobs (e.g. installs a wrapper). Throws with a reason. */
  prepare(runDir: string): void;
  /** Starts or queues the job; rejects with the reason (a batch system's own words) when it cannot. */
  submit(job: JobSubmission, events: JobEvents): Promise<SubmittedJob>;
  /** Looks at a submission without changing anything. */
  poll(job: JobRef): JobCheck;
  /** After a crash: like poll, but a submission that can no longer start is fenced and reported never-started. */
  recover(job: JobRef): JobCheck;
  /** Asks a job (and everything it started) to stop. */
  kill(job: JobRef): void;
  /** Stops timers and outstanding queries (the engine is closing). */
  close(): void;
}
