/**
 * The life of a job, exactly once. A submission is committed (state `preparing`, its job number)
 * before its process starts; the job folder is made after that commit, is new for every
 * submission and never reused, and the runner can say after a crash whether the job claimed its
 * folder, and can fence one that had not, so that it never starts. Hence after a crash:
 * - a job whose wrapper is alive is running (adopted, watched by polling);
 * - a job that left an exit status in its own folder finished with it;
 * - a job that claimed its folder but is gone without a status is lost: failed (or retried);
 * - a job that never claimed its folder is fenced and never ran: it is submitted again under the
 *   next job number, without drawing on its retries (nothing ran).
 * docs/internals.md has the state diagram.
 */
import { ACTIVE_STATES, effectiveSettings, withOutputs, type TaskInstance } from './instances.js';
import type { JobCheck, SubmittedJob } from './job-runner.js';
import type { WorkflowRuntime } from './workflow.js';

export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

/** Starts the committed submission `submitNum` of `inst`. Runs outside any transaction. */
export function launchJob(rt: WorkflowRuntime, inst: TaskInstance, submitNum: number): void {
  const def = rt.flow?.tasks.get(inst.name);
  if (!def) return;
  const settings = effectiveSettings(def, inst.cycle, rt.broadcasts);
  const current = () => rt.isCurrent(inst, submitNum);
  const { attempt } = rt.ctx;
  const runner = rt.runnerOf(inst);
  if (!runner) {
    // A broadcast or a played definition may name a platform the site has since removed.
    attempt(() => submitFailed(rt, inst, submitNum, `no platform "${inst.platform}" on this site (platforms: ${rt.ctx.platforms.names.join(', ')})`));
    return;
  }
  const env: Record<string, string> = {};
  // The server's own FLOTILLA_* variables (its secret among them) never reach jobs.
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLOTILLA_')) env[k] = v;
  Object.assign(env, settings.env, { FLOTILLA_WORKFLOW: rt.id, FLOTILLA_TASK: inst.name, FLOTILLA_CYCLE: String(inst.cycle) });
  const directives = { ...rt.ctx.platforms.directivesOf(inst.platform), ...settings.directives };
  const label = `${rt.id}.${inst.cycle}.${inst.name}`;
  runner.submit({ runDir: rt.runDir, jobDir: rt.jobDir(inst, submitNum), script: settings.script, env, directives, label }, {
    started: () => {
      if (!current() || !ACTIVE_STATES.has(inst.state)) return;
      attempt(() => markRunning(rt, inst));
    },
    exited: (status) => {
      if (!current()) return;
      // Kept until written: a full disk must not make a finished job look lost.
      rt.unrecordedExits.set(exitKey(inst, submitNum), status);
      if (attempt(() => finishJob(rt, inst, submitNum, status))) rt.unrecordedExits.delete(exitKey(inst, submitNum));
    },
    lost: (reason) => {
      if (current() && ACTIVE_STATES.has(inst.state)) attempt(() => loseJob(rt, inst, reason));
    },
    neverStarted: (reason) => {
      if (current() && ACTIVE_STATES.has(inst.state)) attempt(() => unstarted(rt, inst, reason));
    },
  }).then(
    (job) => {
      if (!current()) return;
      const ids = { pid: job.pid ?? null, jobId: job.jobId ?? null };
      attempt(() => {
        rt.change(inst, inst.state === 'preparing' ? { ...ids, state: 'submitted', outputs: withOutputs(inst, ['submitted']) } : ids);
        if (job.jobId !== undefined) rt.log('INFO', 'submitted', `${inst.id}: job ${submitNum} submitted to platform ${inst.platform} as Slurm job ${job.jobId}`);
        if (inst.killing) sendKill(rt, inst);
      });
    },
    (err: Error) => {
      if (!current()) return;
      if (isDiskFull(err)) {
        rt.ctx.diskFull(err);
        // Nothing ran; its folder may be half made, so the next try takes the next number.
        attempt(() => {
          rt.change(inst, { state: 'waiting', killing: false });
          rt.log('WARNING', 'submit', `${inst.id}: job ${submitNum} not started: the disk is full; will submit again when there is space`);
        });
        return;
      }
      attempt(() => submitFailed(rt, inst, submitNum, err.message));
    },
  );
}

function exitKey(inst: TaskInstance, submitNum: number): string {
  return `${inst.id}#${submitNum}`;
}

/** Whether `key` (exitKey) names the latest job of an active instance. */
function isActiveJob(rt: WorkflowRuntime, key: string): boolean {
  const [id, num] = key.split('#');
  const inst = rt.tasks.get(id!);
  return inst !== undefined && inst.submitNum === Number(num) && ACTIVE_STATES.has(inst.state);
}

function markRunning(rt: WorkflowRuntime, inst: TaskInstance, job: SubmittedJob = {}): void {
  rt.change(inst, {
    state: 'running', startedAt: inst.startedAt ?? new Date().toISOString(), outputs: withOutputs(inst, ['submitted', 'started']),
    ...(job.pid !== undefined ? { pid: job.pid } : {}), ...(job.jobId !== undefined ? { jobId: job.jobId } : {}),
  });
}

export function finishJob(rt: WorkflowRuntime, inst: TaskInstance, submitNum: number, status: number): void {
  if (inst.submitNum !== submitNum || !ACTIVE_STATES.has(inst.state)) return;
  const killed = inst.killing;
  const base = { exitCode: status, finishedAt: new Date().toISOString(), adopted: false, killing: false };
  if (status === 0) {
    rt.change(inst, { ...base, state: 'succeeded', outputs: withOutputs(inst, ['succeeded']) });
    rt.log('INFO', 'succeeded', `${inst.id}: job ${submitNum} succeeded`);
  } else if (!retry(rt, inst, `job ${submitNum} failed with exit status ${status} (job failure)`, base)) {
    rt.change(inst, { ...base, state: 'failed', outputs: withOutputs(inst, ['failed']) });
    rt.log('WARNING', 'failed', `${inst.id}: job ${submitNum} ${killed ? 'killed' : 'failed'} with exit status ${status}`);
  }
  rt.requestPass();
}

function submitFailed(rt: WorkflowRuntime, inst: TaskInstance, submitNum: number, reason: string): void {
  const base = { finishedAt: new Date().toISOString(), adopted: false, killing: false };
  if (!retry(rt, inst, `job ${submitNum} could not start (submission failure: ${reason})`, base)) {
    rt.change(inst, { ...base, state: 'submit-failed', outputs: withOutputs(inst, ['submit-failed']) });
    rt.log('ERROR', 'submit-failed', `${inst.id}: job ${submitNum} could not start: ${reason}`);
  }
  rt.requestPass();
}

/**
 * Sends a failed instance back to waiting when its `retries` allow another try. Jobs that exit
 * non-zero, jobs that cannot start and lost jobs draw on the same budget, so a task never gets
 * more than `retries` extra tries whatever went wrong; `why` names which kind of failure this was.
 */
function retry(rt: WorkflowRuntime, inst: TaskInstance, why: string, base: Partial<TaskInstance>): boolean {
  const def = rt.flow?.tasks.get(inst.name);
  if (inst.killing || !def || inst.failures >= def.retries) return false;
  rt.change(inst, { ...base, state: 'waiting', failures: inst.failures + 1 });
  rt.log('WARNING', 'retry', `${inst.id}: ${why}; retry ${inst.failures} of ${def.retries}`);
  return true;
}

function loseJob(rt: WorkflowRuntime, inst: TaskInstance, reason = 'its process is gone and left no exit status'): void {
  const why = `job ${inst.submitNum} lost: ${reason}`;
  rt.log('WARNING', 'lost', `${inst.id}: ${why}`);
  const base = { finishedAt: new Date().toISOString(), adopted: false, killing: false };
  if (!retry(rt, inst, why, base)) rt.change(inst, { ...base, state: 'failed', outputs: withOutputs(inst, ['failed']) });
  rt.requestPass();
}

/**
 * A job that left a batch queue without starting (cancelled there, or refused by the node):
 * killed, it failed as asked; otherwise it is a submission failure and uses the task's retries.
 */
function unstarted(rt: WorkflowRuntime, inst: TaskInstance, reason: string): void {
  if (inst.killing) {
    finishJob(rt, inst, inst.submitNum, KILLED_STATUS);
    return;
  }
  submitFailed(rt, inst, inst.submitNum, reason);
}

/** What a job killed before it started counts as: SIGTERM's status, as for a job killed while running. */
const KILLED_STATUS = 143;

/** A submission fenced before its process claimed it: nothing ran, so it goes round again. */
function resubmitNeverStarted(rt: WorkflowRuntime, inst: TaskInstance, reason = 'interrupted by a restart'): void {
  if (inst.killing) {
    // It was asked to stop: it ends here rather than going round again.
    finishJob(rt, inst, inst.submitNum, KILLED_STATUS);
    return;
  }
  rt.change(inst, { state: 'waiting', adopted: false, killing: false, pid: null, jobId: null });
  rt.log('WARNING', 'job', `${inst.id}: job ${inst.submitNum} never started (${reason}); it will be submitted again as job ${inst.submitNum + 1}`);
  rt.requestPass();
}

/**
 * Compares an active job with its folder: finished, running, lost or never started. Adopted jobs
 * are checked the recovery way (an unclaimed folder is fenced); jobs this engine launched report
 * their own ending, so for them only a recorded exit status counts.
 */
export function checkJob(rt: WorkflowRuntime, inst: TaskInstance): void {
  const pending = rt.unrecordedExits.get(exitKey(inst, inst.submitNum));
  if (pending !== undefined) {
    finishJob(rt, inst, inst.submitNum, pending);
    return;
  }
  const runner = rt.runnerOf(inst);
  if (!runner) {
    if (inst.adopted) loseJob(rt, inst, `its platform "${inst.platform}" is no longer in the site's configuration, so nothing can say how it went`);
    return;
  }
  let check: JobCheck;
  try {
    const job = rt.jobRef(inst);
    check = inst.adopted ? runner.recover(job) : runner.poll(job);
  } catch (err) {
    // Looked at again on the next poll.
    if (isDiskFull(err)) rt.ctx.diskFull(err);
    else rt.ctx.logger.warn({ err: (err as Error).message, workflow: rt.id, task: inst.id }, 'cannot check a job folder');
    return;
  }
  if (check.kind === 'finished') finishJob(rt, inst, inst.submitNum, check.status);
  else if (!inst.adopted) return;
  else if (check.kind === 'running') {
    const known = (check.pid === undefined || inst.pid === check.pid) && (check.jobId === undefined || inst.jobId === check.jobId);
    if (inst.state !== 'running' || !known) markRunning(rt, inst, check);
  } else if (check.kind === 'lost') loseJob(rt, inst, check.reason);
  else if (check.kind === 'never-started') resubmitNeverStarted(rt, inst, check.reason);
}

/** After a restart, every job that was active is adopted and checked the recovery way. */
export function recoverJobs(rt: WorkflowRuntime): void {
  for (const inst of rt.activeTasks()) {
    rt.change(inst, { adopted: true });
    checkJob(rt, inst);
  }
}

export function pollAdoptedJobs(rt: WorkflowRuntime): void {
  for (const key of rt.unrecordedExits.keys()) {
    if (!isActiveJob(rt, key)) rt.unrecordedExits.delete(key);
  }
  for (const key of rt.killsSent.keys()) if (!isActiveJob(rt, key)) rt.killsSent.delete(key);
  for (const inst of rt.activeTasks()) {
    if (inst.adopted || rt.unrecordedExits.has(exitKey(inst, inst.submitNum))) checkJob(rt, inst);
    if (inst.killing && ACTIVE_STATES.has(inst.state)) killAgainIfDue(rt, inst);
  }
}

/**
 * How often a kill is sent again while its job lasts: a scancel can fail (the controller busy or
 * down), and a kill asked for just before a crash may never have been sent.
 */
const KILL_AGAIN_MS = 10_000;

function killAgainIfDue(rt: WorkflowRuntime, inst: TaskInstance): void {
  const sent = rt.killsSent.get(exitKey(inst, inst.submitNum));
  if (sent === undefined || performance.now() - sent >= KILL_AGAIN_MS) sendKill(rt, inst);
}

function sendKill(rt: WorkflowRuntime, inst: TaskInstance): void {
  rt.killsSent.set(exitKey(inst, inst.submitNum), performance.now());
  // Even with no pid or job id recorded yet: a batch runner may still find the job by its folder.
  rt.runnerOf(inst)?.kill(rt.jobRef(inst));
}

export function killInstance(rt: WorkflowRuntime, inst: TaskInstance): void {
  rt.change(inst, { killing: true });
  if (ACTIVE_STATES.has(inst.state)) sendKill(rt, inst);
}
