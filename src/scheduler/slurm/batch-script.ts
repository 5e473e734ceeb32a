/**
 * What Flotilla hands to sbatch: a small batch script that records the Slurm job id in the job
 * folder and then runs the same wrapper as local jobs (it claims the folder, runs job.script and
 * records the exit status), so that logs, status files and recovery work alike on both.
 */
import { join } from 'node:path';
import { WRAPPER_FILE } from '../local-runner.js';
import type { JobSubmission } from '../job-runner.js';

export const BATCH_SCRIPT_FILE = 'job.slurm.sh';
/** Where the job id is kept in the job folder, by the runner after sbatch and by the job when it starts. */
export const JOB_ID_FILE = 'job.slurm-id';

/** A word for bash, quoted so that nothing in it is expanded. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function batchScript(job: JobSubmission): string {
  return `#!/usr/bin/env bash
# Flotilla batch script for ${job.label.replace(/[^\w.-]/g, '_')}: Slurm runs this; the wrapper does the job.
job_dir=${shellQuote(job.jobDir)}
# The id, for an engine that crashed before it could write it down.
printf '%s\\n' "$SLURM_JOB_ID" > "$job_dir/${JOB_ID_FILE}.tmp" && mv -f "$job_dir/${JOB_ID_FILE}.tmp" "$job_dir/${JOB_ID_FILE}"
# The wrapper tells a local engine "started" on descriptor 3; a Slurm job has nobody to tell.
exec 3>/dev/null
exec bash ${shellQuote(join(job.runDir, WRAPPER_FILE))} "$job_dir"
`;
}

/** sbatch reads "%" in file names as a pattern ("%j": the job id); "%%" is a plain "%". */
function literalPath(path: string): string {
  return path.replace(/%/g, '%%');
}

/** sbatch's arguments: the runner's own options first, then the directives, then the script. */
export function sbatchArgs(job: JobSubmission): string[] {
  const directives = Object.entries(job.directives).map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  return [
    '--parsable',
    `--job-name=${job.label}`,
    `--chdir=${job.runDir}`,
    `--output=${literalPath(join(job.jobDir, 'job.out'))}`,
    `--error=${literalPath(join(job.jobDir, 'job.err'))}`,
    '--open-mode=append',
    // A job that claimed its folder never runs again (the wrapper refuses), so a requeue could
    // only end in a confusing second record: a node failure is a lost job, retried by the engine.
    '--no-requeue',
    ...directives,
    join(job.jobDir, BATCH_SCRIPT_FILE),
  ];
}

/** The job id in sbatch --parsable's answer ("123" or "123;cluster"), if it is one. */
export function parseJobId(stdout: string): string | undefined {
  const id = stdout.trim().split('\n').at(-1)?.split(';')[0]?.trim();
  return id && /^[0-9]+$/.test(id) ? id : undefined;
}
