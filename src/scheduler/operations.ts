/**
 * Every operation the engine accepts, with the arguments each takes. The names are the
 * snake_case operation names of AUTHORIZATION.md (all but `read`), so that the GraphQL layer can
 * map one mutation to one operation and its arguments field by field.
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
 * | message                   | required | { severity: 'DEBUG'\|'INFO'\|'WARNING'\|'CRITICAL', text }   |
 * | set_hold_point            | -        | { cyclePoint: integer ≥ 1 }                                 |
 * | release_hold_point        | -        | -                                                           |
 * | reload, clean             | -        | -                                                           |
 * | broadcast                 | -        | { mode: 'set'\|'clear', settings: { env?, script?,          |
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
import { z } from 'zod';
import { LOG_LEVELS, MESSAGE_SEVERITIES } from './types.js';

const emptyArgs = z.strictObject({});
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." or "-" only');
const cyclePoint = z.union([z.literal('*'), z.string().regex(/^[1-9][0-9]{0,8}$/, 'a cycle point (1, 2, …) or "*"')]);
const namespace = z.string().regex(/^[A-Za-z0-9_*?[\]-]+$/, 'a task name or glob');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

export const OPERATION_ARGS = {
  clean: emptyArgs,
  ext_trigger: z.strictObject({ name, id: z.string().regex(/^[1-9][0-9]{0,8}$/, 'a cycle point (1, 2, …)').optional() }),
  hold: emptyArgs,
  kill: emptyArgs,
  message: z.strictObject({
    severity: z.enum(MESSAGE_SEVERITIES),
    text: z.string().min(1, 'must not be empty').max(4000, 'at most 4000 characters'),
  }),
  pause: emptyArgs,
  play: emptyArgs,
  poll: emptyArgs,
  release: emptyArgs,
  release_hold_point: emptyArgs,
  reload: emptyArgs,
  remove: emptyArgs,
  resume: emptyArgs,
  set_graph_window_extent: z.strictObject({ extent: z.number().int().min(0).max(100) }),
  set_hold_point: z.strictObject({ cyclePoint: z.number().int().min(1) }),
  set_outputs: z.strictObject({
    outputs: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'an output name')).min(1).default(['succeeded']),
  }),
  set_verbosity: z.strictObject({ level: z.enum(LOG_LEVELS) }),
  stop: z.strictObject({ mode: z.enum(['clean', 'kill', 'now']).default('clean') }),
  trigger: emptyArgs,
  broadcast: z.strictObject({
    mode: z.enum(['set', 'clear']),
    settings: z.strictObject({
      env: z.record(envName, z.string()).optional(),
      script: z.string().optional(),
      platform: z.string().regex(/^[A-Za-z0-9_.-]*$/, 'a platform name').optional(),
      directives: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
    }),
    cyclePoints: z.array(cyclePoint).min(1).optional(),
    namespaces: z.array(namespace).min(1).optional(),
  }),
} as const;

export type EngineOperation = keyof typeof OPERATION_ARGS;
export type OperationArgs<Op extends EngineOperation> = z.output<(typeof OPERATION_ARGS)[Op]>;

export const ENGINE_OPERATIONS = Object.keys(OPERATION_ARGS).sort() as EngineOperation[];

/** Operations that act on task instances and so need `tasks`. */
export const TASK_OPERATIONS: ReadonlySet<EngineOperation> = new Set<EngineOperation>([
  'hold', 'release', 'trigger', 'kill', 'set_outputs', 'remove', 'message',
]);
/** Operations that may name tasks but need not. */
const OPTIONAL_TASK_OPERATIONS: ReadonlySet<EngineOperation> = new Set<EngineOperation>(['poll']);

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
  const parsed = OPERATION_ARGS[op].safeParse(args ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${op}: args${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
    return { ok: false, message: issues.join('\n') };
  }
  return { ok: true, op, args: parsed.data as Record<string, unknown>, tasks: taskList };
}
