/**
 * Every operation the engine accepts, with the arguments each takes (OPERATION_CATALOGUE below).
 * The names are the snake_case operation names of AUTHORIZATION.md (all but `read`), so that the
 * GraphQL layer can map one mutation to one operation and its arguments field by field.
 *
 * | operation                 | tasks    | args                                                        |
 * | ------------------------- | -------- | ----------------------------------------------------------- |
 * | play, pause, resume       | -        | -                                                           |
 * | stop                      | -        | { mode?: 'clean' (default) \| 'kill' \| 'now' }             |
 * | hold, release             | required | -                                                           |
 * | trigger, remove           | required | -                                                           |
 * | kill                      | required | -                                                           |
 * | poll                      | optional | - (no tasks: every active job)                              |
 * | set_outputs               | required | { outputs?: string[] = ['succeeded'] }                      |
 * | message                   | required | { text, severity = 'INFO' ('DEBUG'\|'INFO'\|'WARNING'\|'CRITICAL') } |
 * | set_hold_point            | -        | { cyclePoint: integer ≥ 1 }                                 |
 * | release_hold_point        | -        | -                                                           |
 * | reload, clean             | -        | -                                                           |
 * | broadcast                 | -        | { mode = 'set' \| 'clear', settings: { env?, script?,          |
 * |                           |          |   platform?, directives? },                                 |
 * |                           |          |   cyclePoints?: string[] ('*' or integers),                 |
 * |                           |          |   namespaces?: string[] (task names or globs) }             |
 * | ext_trigger               | -        | { name, id?: cycle point (integer string) }                 |
 * | set_verbosity             | -        | { level: 'DEBUG'\|'INFO'\|'WARNING'\|'ERROR'\|'CRITICAL' }   |
 * | set_graph_window_extent   | -        | { extent: integer 0..100 }                                  |
 *
 * `broadcast` clear with `settings: {}` clears everything for the matching points and
 * namespaces; otherwise it clears the env keys named in `settings.env` and, if `settings.script`
 * is present (any value), the script override; likewise `platform` (any value) clears the platform
 * override and `directives` clears the directives it names.
 */
import * as z from 'zod';
import { LOG_LEVELS, MESSAGE_SEVERITIES } from './types.js';

const emptyArgs = z.strictObject({});
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." or "-" only');
const cyclePoint = z.union([z.literal('*'), z.string().regex(/^[1-9][0-9]{0,8}$/, 'a cycle point (1, 2, …) or "*"')]);
const namespace = z.string().regex(/^[A-Za-z0-9_*?[\]-]+$/, 'a task name or glob');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** Whether an operation acts on tasks: it must name some, may name some, or names none. */
type TaskUse = 'required' | 'optional' | 'none';

interface CatalogueEntry {
  tasks: TaskUse;
  /** The operation's own arguments; GraphQL takes them one for one (src/graphql/mutations.ts). */
  args: z.ZodObject;
  /** For people: what it does (the GraphQL mutation's description). */
  description: string;
}

/**
 * The one operation catalogue: every operation the engine accepts, whether it acts on tasks, its
 * arguments and what it does. The engine's argument checks and the GraphQL mutations are both
 * derived from it, and a test ties it to the operation names of src/authz/operations.ts.
 */
export const OPERATION_CATALOGUE = {
  broadcast: {
    tasks: 'none',
    args: z.strictObject({
      settings: z.strictObject({
        env: z.record(envName, z.string()).optional(),
        script: z.string().optional(),
        platform: z.string().regex(/^[A-Za-z0-9_.-]*$/, 'a platform name').optional(),
        directives: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
      }),
      cyclePoints: z.array(cyclePoint).min(1).optional(),
      namespaces: z.array(namespace).min(1).optional(),
      mode: z.enum(['set', 'clear']).default('set'),
    }),
    description: 'Change task settings ({env, script, platform, directives}) at run time for cycle points and task namespaces (mode "set" or "clear").',
  },
  clean: { tasks: 'none', args: emptyArgs, description: 'Delete the run directories of stopped workflows.' },
  ext_trigger: {
    tasks: 'none',
    args: z.strictObject({ name, id: z.string().regex(/^[1-9][0-9]{0,8}$/, 'a cycle point (1, 2, …)').optional() }),
    description: 'Satisfy the external trigger of this name (tasks with an `xtrigger`), at cycle point id or all.',
  },
  hold: { tasks: 'required', args: emptyArgs, description: 'Hold tasks: they will not be submitted until released.' },
  kill: { tasks: 'required', args: emptyArgs, description: 'Kill the running jobs of tasks.' },
  message: {
    tasks: 'required',
    args: z.strictObject({
      text: z.string().min(1, 'must not be empty').max(4000, 'at most 4000 characters'),
      severity: z.enum(MESSAGE_SEVERITIES).default('INFO'),
    }),
    description: 'Record a message from the jobs of tasks.',
  },
  pause: { tasks: 'none', args: emptyArgs, description: 'Pause: submit no new jobs; running jobs carry on.' },
  play: { tasks: 'none', args: emptyArgs, description: 'Start (or restart) the workflows.' },
  poll: {
    tasks: 'optional',
    args: emptyArgs,
    description: 'Check the real state of the jobs of tasks (all active jobs when no tasks are named).',
  },
  release: { tasks: 'required', args: emptyArgs, description: 'Release held tasks.' },
  release_hold_point: { tasks: 'none', args: emptyArgs, description: 'Remove the hold point and release the tasks it held.' },
  reload: { tasks: 'none', args: emptyArgs, description: 'Re-read flow.yaml and apply it.' },
  remove: { tasks: 'required', args: emptyArgs, description: 'Remove tasks from the workflow window.' },
  resume: { tasks: 'none', args: emptyArgs, description: 'Resume paused workflows.' },
  set_graph_window_extent: {
    tasks: 'none',
    args: z.strictObject({ extent: z.number().int().min(0).max(100) }),
    description: 'How many graph edges around active tasks the graph views show (worked out from Workflow.edges); default 1.',
  },
  set_hold_point: {
    tasks: 'none',
    args: z.strictObject({ cyclePoint: z.number().int().min(1) }),
    description: 'Hold every task after this cycle point.',
  },
  set_outputs: {
    tasks: 'required',
    args: z.strictObject({
      outputs: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'an output name')).min(1).default(['succeeded']),
    }),
    description: 'Mark outputs of tasks as completed (default: succeeded), satisfying downstream tasks.',
  },
  set_verbosity: {
    tasks: 'none',
    args: z.strictObject({ level: z.enum(LOG_LEVELS) }),
    description: 'Logging level of the workflow: DEBUG, INFO, WARNING, ERROR or CRITICAL.',
  },
  stop: {
    tasks: 'none',
    args: z.strictObject({ mode: z.enum(['clean', 'kill', 'now']).default('clean') }),
    description: 'Stop the workflows. mode: "clean" (wait for running jobs), "now" (leave them running), "kill" (kill them first).',
  },
  trigger: { tasks: 'required', args: emptyArgs, description: 'Run tasks now, whatever their prerequisites.' },
} as const satisfies Record<string, CatalogueEntry>;

export type EngineOperation = keyof typeof OPERATION_CATALOGUE;
type Catalogue = typeof OPERATION_CATALOGUE;
export type OperationArgs<Op extends EngineOperation> = z.output<Catalogue[Op]['args']>;

export const OPERATION_ARGS = Object.fromEntries(
  Object.entries(OPERATION_CATALOGUE).map(([op, entry]) => [op, entry.args]),
) as { [Op in EngineOperation]: Catalogue[Op]['args'] };

export const ENGINE_OPERATIONS = Object.keys(OPERATION_CATALOGUE).sort() as EngineOperation[];

const withTasks = (use: TaskUse): ReadonlySet<EngineOperation> =>
  new Set(ENGINE_OPERATIONS.filter((op) => OPERATION_CATALOGUE[op].tasks === use));
/** Operations that act on task instances and so need `tasks`. */
export const TASK_OPERATIONS: ReadonlySet<EngineOperation> = withTasks('required');
/** Operations that may name tasks but need not. */
const OPTIONAL_TASK_OPERATIONS: ReadonlySet<EngineOperation> = withTasks('optional');

export function isEngineOperation(op: string): op is EngineOperation {
  return Object.hasOwn(OPERATION_ARGS, op);
}

export type ParsedCommand =
  | { ok: true; op: EngineOperation; args: Record<string, unknown>; tasks: string[] }
  | { ok: false; message: string };

/** Checks the operation name, its tasks and its arguments, with messages that name the field. */
export function parseCommand(op: string, tasks: string[] | undefined, args: unknown): ParsedCommand {
  if (!isEngineOperation(op)) {
    return { ok: false, message: `unknown operation "${op}"; known: ${ENGINE_OPERATIONS.join(', ')}` };
  }
  const taskList = tasks ?? [];
  if (TASK_OPERATIONS.has(op) && taskList.length === 0) {
    return { ok: false, message: `${op}: tasks: name at least one task (name, cycle/name or a glob)` };
  }
  if (!TASK_OPERATIONS.has(op) && !OPTIONAL_TASK_OPERATIONS.has(op) && taskList.length > 0) {
    return { ok: false, message: `${op}: tasks: this operation does not act on tasks` };
  }
  const badTask = taskList.find((t) => !/^([0-9*?[\]-]+\/)?[A-Za-z0-9_*?[\]-]+$/.test(t));
  if (badTask !== undefined) {
    return { ok: false, message: `${op}: tasks: "${badTask}" is not a task name, cycle/name or glob` };
  }
  const parsed = OPERATION_CATALOGUE[op].args.safeParse(args ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${op}: args${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
    return { ok: false, message: issues.join('\n') };
  }
  return { ok: true, op, args: parsed.data as Record<string, unknown>, tasks: taskList };
}
