/**
 * The plain-JSON shapes the engine shows to the rest of the workflow server. Nothing here knows
 * about users or HTTP; the GraphQL layer maps these 1:1.
 */
import type { PlatformConfig } from '../config/site.js';
import type { Logger } from '../util/logger.js';

export const TASK_STATES = [
  'waiting',
  'preparing',
  'submitted',
  'running',
  'succeeded',
  'failed',
  'submit-failed',
  'expired',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/**
 * `stalled`: running, but nothing can go on because of failed tasks (as in Cylc 8): they can be
 * triggered, set or removed, until the stall timeout stops the workflow.
 */
export type WorkflowStatus = 'stopped' | 'running' | 'paused' | 'stopping' | 'stalled';

/** How the latest run ended: a stopped workflow that ran says so, one that never ran has none. */
export interface LastRun {
  outcome: 'complete' | 'stall-timeout' | 'stopped';
  /** ISO time the run ended. */
  at: string;
  succeeded: number;
  /** failed and submit-failed tasks. */
  failed: number;
  /** e.g. "completed: 5 succeeded, 2 failed". */
  summary: string;
}

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const MESSAGE_SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'CRITICAL'] as const;
export type MessageSeverity = (typeof MESSAGE_SEVERITIES)[number];

/** Where flow.yaml is wrong: shown with the workflow instead of dropping it. */
export interface FlowErrorView {
  message: string;
  file: string;
  line?: number;
  column?: number;
}

export interface TaskMessage {
  at: string;
  severity: MessageSeverity;
  text: string;
  by: string;
}

export interface TaskView {
  /** `cycle/name` */
  id: string;
  cycle: number;
  name: string;
  state: TaskState;
  held: boolean;
  queued: boolean;
  submitNum: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  pid?: number;
  /** The batch system's id of the latest job (a Slurm job id); absent for local jobs. */
  jobId?: string;
  /** Where the current job runs, or the next would: a site platform; absent for the built-in local one. */
  platform?: string;
  /** The sbatch options of that job: the platform's, the task's, then broadcasts' (with `platform` only). */
  directives?: Record<string, string>;
  xtrigger?: string;
  xtriggerSatisfied?: boolean;
  outputs: string[];
  /** The latest few, oldest first. */
  messages: TaskMessage[];
  /** The script and env a job would get now, broadcasts included. */
  script?: string;
  env?: Record<string, string>;
}

export interface GraphEdge {
  from: string;
  to: string;
}

/**
 * One active broadcast: the override set for one cycle point and one task namespace. Jobs of
 * matching tasks get the definition's script and env with every matching override on top, the
 * more specific first (a named cycle point over '*', a named task over a glob), then by `seq`.
 */
export interface BroadcastView {
  /** `cyclePoint/namespace`: unique within the workflow. */
  id: string;
  /** A cycle point ('1', '2', …) or '*' for every one. */
  cyclePoint: string;
  /** A task name or glob. */
  namespace: string;
  settings: { env: Record<string, string>; script?: string; platform?: string; directives?: Record<string, string> };
  /** Order of setting: among equally specific overrides, the later one wins. */
  seq: number;
  /** Who last set it, and when (ISO); null for broadcasts stored before these were recorded. */
  setBy: string | null;
  setAt: string | null;
}

export interface WorkflowView {
  id: string;
  name: string;
  description: string;
  status: WorkflowStatus;
  /** null when the workflow has not finished a run (since it was last cleaned). */
  lastRun: LastRun | null;
  error?: FlowErrorView;
  cycles: number;
  runaheadLimit: number;
  holdPoint: number | null;
  verbosity: LogLevel;
  graphWindowExtent: number;
  /** ISO time of the last change of any kind. */
  lastActivity: string;
  stateCounts: Record<TaskState, number>;
  tasks: TaskView[];
  edges: GraphEdge[];
  /** Active broadcasts, in the order they were set. */
  broadcasts: BroadcastView[];
}

export type WorkflowSummary = Omit<WorkflowView, 'tasks'>;

export type TaskUpdate = Partial<TaskView> & { id: string };

export interface Delta {
  workflow: string;
  added?: { workflow?: WorkflowSummary; tasks?: TaskView[] };
  updated?: { workflow?: Partial<WorkflowSummary>; tasks?: TaskUpdate[] };
  pruned?: { workflow?: true; tasks?: string[] };
}

/**
 * A subscriber may return a promise: the next delta waits for it, and changes meanwhile are
 * merged into one pending delta per workflow instead of queueing up.
 */
export type DeltaListener = (delta: Delta) => void | Promise<void>;

export interface CommandResult {
  workflow: string;
  ok: boolean;
  message: string;
}

export interface CommandRequest {
  workflows: string[];
  tasks?: string[];
  args?: unknown;
  /** Who asked: recorded in the workflow log. */
  by: string;
}

export type JobLogFile = 'job.out' | 'job.err';

export interface JobLogRequest {
  workflow: string;
  /** `cycle/name` */
  task: string;
  submitNum?: number;
  file: JobLogFile;
  /** Only the last N lines. */
  tail?: number;
  /** Read at most this many bytes from the end (never more than the engine's own cap). */
  maxBytes?: number;
}

export interface JobFile {
  /** Absolute. */
  path: string;
  size: number;
  submitNum: number;
}

export interface JobLogResult {
  content: string;
  /** Relative to the owner's folder. */
  path: string;
  /** Bytes in the whole file. */
  size: number;
  /** Bytes of the file in content. */
  shown: number;
  /** Whether content is less than the whole file (a byte cap or `tail`). */
  truncated: boolean;
  submitNum: number;
}

export interface WorkflowLogEntry {
  at: string;
  level: LogLevel;
  kind: string;
  by: string | null;
  text: string;
}

export interface EngineOptions {
  /** `<data_dir>/users/<owner>`: workflows in `workflows/`, run dirs in `runs/`. */
  ownerDir: string;
  /** Active jobs per workflow; default: cores × 2. */
  concurrency?: number;
  logger?: Logger;
  /** How often folders and adopted jobs are re-checked when no event says so (ms). */
  pollIntervalMs?: number;
  /** How long a stalled workflow stays up before it stops (seconds); 0 = for ever; default 3600. */
  stallTimeoutSeconds?: number;
  /** The site's platforms (WorkflowServer.platforms); `local` is always there. */
  platforms?: Record<string, PlatformConfig>;
  /**
   * Set when this engine must not submit to Slurm at all, saying why: Slurm runs a job as the
   * account that submits it, and this process does not run as its owner's own account. Jobs on
   * Slurm platforms then fail to submit with this message (jobs already there are still watched).
   */
  slurmRefusal?: string;
  /**
   * Called once when the engine cannot go on (its database is damaged or unreadable at run
   * time); the engine has closed itself. The workflow server exits non-zero here.
   */
  onFatal?: (err: Error) => void;
}
