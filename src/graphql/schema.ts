/**
 * The workflow server's GraphQL schema. Types map the engine's views (src/scheduler/types.ts)
 * 1:1; patches in `Delta.updated` are JSON objects holding only the fields that changed, so that a
 * client can tell "changed to null" from "unchanged".
 */
import { GraphQLObjectType, buildASTSchema, parse, type GraphQLSchema } from './graphql-js.js';
import { mutationSdl } from './mutations.js';

const SDL = /* GraphQL */ `
"""Any JSON value."""
scalar JSON

type Query {
  """Who is asking, and what they may do here."""
  me: Me!
  workflows: [Workflow!]!
  workflow(id: ID!): Workflow
  """
  Some tasks of one workflow by id, with every field: what a page asks for when a task is opened,
  so that the list it keeps live can leave out the heavy fields (script, env). In the order of
  ids, each once; ids that name no task are left out; at most 500 ids.
  """
  tasks(workflow: ID!, ids: [ID!]!): [Task!]!
  """
  A job's log file: file is "job.out" (stdout) or "job.err" (stderr). At most the last 1 MB is
  read; tail keeps the last N lines, reading at most N KB. JobLog.truncated says when content is
  not the whole file.
  """
  jobLog(workflow: ID!, task: String!, submitNum: Int, file: String = "job.out", tail: Int): JobLog!
  """The workflow's own event log, newest last."""
  workflowLog(workflow: ID!, limit: Int = 200): [WorkflowLogEntry!]!
}

type Subscription {
  """Live changes of the given workflows (all when omitted): a full "added" burst first, then changes."""
  deltas(workflows: [ID!]): Delta!
  """
  Your permissions on this server (as Me.permissions and Me.workflowPermissions): now, then again
  whenever sharing, the site limits or your groups change them. Ends when you lose read everywhere.
  """
  permissions: Permissions!
}

type Me {
  username: String!
  owner: String!
  groups: [String!]!
  """Permitted operations server-wide, by GraphQL (camelCase) name."""
  permissions: [String!]!
  """
  Workflows (that you may read) where workflow_authorization gives you other permissions than the
  server-wide ones; every other workflow follows Me.permissions.
  """
  workflowPermissions: [WorkflowPermissions!]!
}

type Permissions {
  permissions: [String!]!
  workflowPermissions: [WorkflowPermissions!]!
}

type WorkflowPermissions {
  workflow: ID!
  """Permitted operations on this workflow, by GraphQL name."""
  permissions: [String!]!
}

type CommandResult {
  workflow: ID!
  ok: Boolean!
  message: String!
}

type FlowError {
  message: String!
  file: String!
  line: Int
  column: Int
}

type StateCounts {
  waiting: Int!
  preparing: Int!
  submitted: Int!
  running: Int!
  succeeded: Int!
  failed: Int!
  submitFailed: Int!
  expired: Int!
}

type LastRun {
  """complete, stall-timeout or stopped"""
  outcome: String!
  at: String!
  succeeded: Int!
  failed: Int!
  """For people: "completed: 5 succeeded, 2 failed"."""
  summary: String!
}

type Edge {
  from: String!
  to: String!
}

type Workflow {
  id: ID!
  name: String!
  description: String!
  """stopped, running, paused, stopping or stalled (running, but held up by failed tasks)"""
  status: String!
  """How the latest run ended; null when the workflow has not finished a run."""
  lastRun: LastRun
  error: FlowError
  cycles: Int!
  runaheadLimit: Int!
  holdPoint: Int
  verbosity: String!
  graphWindowExtent: Int!
  lastActivity: String!
  stateCounts: StateCounts!
  """Absent in delta summaries, where tasks come separately."""
  tasks: [Task!]
  """
  Every dependency edge between the workflow's tasks (those that exist). The graph a page draws is
  the window around unfinished tasks that graphWindowExtent sets, worked out by the viewer from
  these edges and the tasks' states: so these change only when tasks come or go, or flow.yaml
  is reloaded.
  """
  edges: [Edge!]!
  """Active broadcasts, in the order they were set."""
  broadcasts: [Broadcast!]!
}

"""
An active broadcast: the override set for one cycle point and one task namespace. A job gets its
task's definition with every matching override on top, the more specific first (a named cycle
point over "*", a named task over a glob), then in order of setting.
"""
type Broadcast {
  """cyclePoint/namespace, unique within the workflow."""
  id: ID!
  """A cycle point (1, 2, …) or "*" for every one."""
  cyclePoint: String!
  """A task name or glob."""
  namespace: String!
  settings: BroadcastSettings!
  """Order of setting: among equally specific overrides, the later one wins."""
  seq: Int!
  """Who last set it; null for broadcasts stored before this was recorded."""
  setBy: String
  """When it was last set (ISO time); null for broadcasts stored before this was recorded."""
  setAt: String
}

type BroadcastSettings {
  """Environment variables set for matching jobs (name to value)."""
  env: JSON!
  """The script that replaces the task's own, when overridden."""
  script: String
  """The platform jobs of matching tasks run on, when overridden."""
  platform: String
  """sbatch options (name to value) merged over the task's, when set."""
  directives: JSON
}

type TaskMessage {
  at: String!
  severity: String!
  text: String!
  by: String!
}

type Task {
  """cycle/name"""
  id: ID!
  cycle: Int!
  name: String!
  state: String!
  held: Boolean!
  queued: Boolean!
  submitNum: Int!
  startedAt: String
  finishedAt: String
  exitCode: Int
  pid: Int
  """The batch system's id of the latest job (a Slurm job id); null for local jobs."""
  jobId: String
  """Where the current job runs, or the next would: a platform of the site's; null for the built-in "local"."""
  platform: String
  """The sbatch options of that job: the platform's, the task's, then broadcasts' (name to value); null on "local"."""
  directives: JSON
  xtrigger: String
  xtriggerSatisfied: Boolean
  outputs: [String!]!
  messages: [TaskMessage!]!
  script: String
  env: JSON
}

type JobLog {
  content: String!
  """The file, relative to the owner's folder."""
  path: String!
  """Bytes in the whole file."""
  size: Int!
  """Bytes of the file in content (less than size when truncated)."""
  shown: Int!
  """Whether content is less than the whole file (the size cap or tail)."""
  truncated: Boolean!
  submitNum: Int!
}

type WorkflowLogEntry {
  at: String!
  level: String!
  kind: String!
  by: String
  text: String!
}

type Delta {
  workflow: ID!
  added: DeltaAdded
  updated: DeltaUpdated
  pruned: DeltaPruned
}

type DeltaAdded {
  workflow: Workflow
  tasks: [Task!]
}

type DeltaUpdated {
  """Changed workflow fields only."""
  workflow: JSON
  """One object per changed task: its id and the changed fields only."""
  tasks: [JSON!]
}

type DeltaPruned {
  workflow: Boolean
  tasks: [String!]
}
`;

/** The schema in SDL, mutations included. */
export function workflowSdl(): string {
  return `${SDL}\n${mutationSdl()}`;
}

export function buildWorkflowSchema(): GraphQLSchema {
  // Built without checking the SDL (test/server/schema.test.ts checks it), nor keeping source
  // positions nothing reads: checking was half the CPU of building, on a page's first query.
  const schema = buildASTSchema(parse(workflowSdl(), { noLocation: true }), { assumeValidSDL: true });
  // The engine's state name is "submit-failed", which is not a GraphQL name.
  const counts = schema.getType('StateCounts');
  if (counts instanceof GraphQLObjectType) {
    const field = counts.getFields().submitFailed;
    if (field) field.resolve = (source: Record<string, number>) => source['submit-failed'] ?? 0;
  }
  return schema;
}
