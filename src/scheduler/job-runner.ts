/**
 * What the engine needs from whatever runs its jobs: the local runner (local-runner.ts) is the
 * first; a batch-system runner (Slurm) implements the same four calls.
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
}

export interface JobEvents {
  started(): void;
  exited(status: number): void;
}

/** What a job folder says about its submission. */
export type JobCheck =
  | { kind: 'finished'; status: number }
  | { kind: 'running'; pid: number }
  /** Claimed by a process that is gone and left no exit status: it may have run partly. */
  | { kind: 'lost' }
  /** Nothing has claimed it yet, or a claim is being made (from recover: look again later). */
  | { kind: 'unclaimed' }
  /** Recovery fenced it: it never ran and now never will. */
  | { kind: 'never-started' };

export interface JobRunner {
  /** Makes a run folder ready for jobs (e.g. installs a wrapper). Throws with a reason. */
  prepare(runDir: string): void;
  /** Starts the job and resolves with its id (pid); rejects when it cannot be started. */
  submit(job: JobSubmission, events: JobEvents): Promise<number>;
  /** Looks at a submission without changing anything. */
  poll(jobDir: string): JobCheck;
  /** After a crash: like poll, but an unclaimed submission is fenced and reported never-started. */
  recover(jobDir: string): JobCheck;
  /** Asks a job (and everything it started) to stop. */
  kill(pid: number): void;
}
