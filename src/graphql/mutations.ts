/**
 * One GraphQL mutation per operation. Each takes `workflows: [ID!]!`, task operations also take
 * `tasks: [String!]!` (poll: optional), and every other argument is the operation's own, passed 1:1 to the engine
 * as `args`.
 */
import { OPERATIONS, graphqlName, type Operation } from '../authz/index.js';

interface MutationSpec {
  /** Whether it takes `tasks` (ids such as `1/build`, names meaning every cycle, or globs). */
  tasks: 'required' | 'optional' | 'none';
  /** The operation's own arguments, as SDL argument definitions. */
  args: string[];
  description: string;
}

const SPECS: Record<Exclude<Operation, 'read'>, MutationSpec> = {
  play: { tasks: 'none', args: [], description: 'Start (or restart) the workflows.' },
  pause: { tasks: 'none', args: [], description: 'Pause: submit no new jobs; running jobs carry on.' },
  resume: { tasks: 'none', args: [], description: 'Resume paused workflows.' },
  stop: {
    tasks: 'none',
    args: ['mode: String = "clean"'],
    description: 'Stop the workflows. mode: "clean" (wait for running jobs), "now" (leave them running), "kill" (kill them first).',
  },
  reload: { tasks: 'none', args: [], description: 'Re-read flow.yaml and apply it.' },
  hold: { tasks: 'required', args: [], description: 'Hold tasks: they will not be submitted until released.' },
  release: { tasks: 'required', args: [], description: 'Release held tasks.' },
  kill: { tasks: 'required', args: [], description: 'Kill the running jobs of tasks.' },
  poll: { tasks: 'optional', args: [], description: 'Check the real state of the jobs of tasks (all active jobs when no tasks are named).' },
  trigger: { tasks: 'required', args: [], description: 'Run tasks now, whatever their prerequisites.' },
  remove: { tasks: 'required', args: [], description: 'Remove tasks from the workflow window.' },
  set_outputs: {
    tasks: 'required',
    args: ['outputs: [String!] = ["succeeded"]'],
    description: 'Mark outputs of tasks as completed (default: succeeded), satisfying downstream tasks.',
  },
  message: {
    tasks: 'required',
    args: ['text: String!', 'severity: String = "INFO"'],
    description: 'Record a message from the jobs of tasks.',
  },
  ext_trigger: {
    tasks: 'none',
    args: ['name: String!', 'id: String'],
    description: 'Satisfy the external trigger of this name (tasks with an `xtrigger`), at cycle point id or all.',
  },
  set_hold_point: {
    tasks: 'none',
    args: ['cyclePoint: Int!'],
    description: 'Hold every task after this cycle point.',
  },
  release_hold_point: { tasks: 'none', args: [], description: 'Remove the hold point and release the tasks it held.' },
  set_graph_window_extent: {
    tasks: 'none',
    args: ['extent: Int!'],
    description: 'How many graph edges around active tasks the views (Workflow.edges, the graph) include; default 1.',
  },
  set_verbosity: {
    tasks: 'none',
    args: ['level: String!'],
    description: 'Logging level of the workflow: DEBUG, INFO, WARNING, ERROR or CRITICAL.',
  },
  clean: { tasks: 'none', args: [], description: 'Delete the run directories of stopped workflows.' },
  broadcast: {
    tasks: 'none',
    args: ['settings: JSON!', 'cyclePoints: [String!]', 'namespaces: [String!]', 'mode: String = "set"'],
    description: 'Change task settings ({env, script}) at run time for cycle points and task namespaces (mode "set" or "clear").',
  },
};

/** The `type Mutation { … }` SDL, one field per operation in OPERATIONS. */
export function mutationSdl(): string {
  const fields = OPERATIONS.filter((op): op is Exclude<Operation, 'read'> => op !== 'read').map((op) => {
    const spec = SPECS[op];
    const tasks = { required: ['tasks: [String!]!'], optional: ['tasks: [String!]'], none: [] }[spec.tasks];
    const args = ['workflows: [ID!]!', ...tasks, ...spec.args];
    return `  """${spec.description}"""\n  ${graphqlName(op)}(${args.join(', ')}): [CommandResult!]!`;
  });
  return `type Mutation {\n${fields.join('\n')}\n}`;
}
