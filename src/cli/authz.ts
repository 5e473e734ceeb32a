import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  AuthzConfigError,
  decide,
  explainDecision,
  formatExplanation,
  parseSiteAuthorization,
  parseUserAuthorization,
  parseWorkflowAuthorization,
  type AuthzRequest,
  type SiteAuthorization,
  type UserAuthorization,
  type WorkflowAuthorization,
  type WorkflowScope,
} from '../authz/index.js';
import { isValidWorkflowName, loadOwnerSharing, loadSiteConfig, NAME_RULE, type SiteConfig } from '../config/index.js';
import { HtpasswdFile } from '../htpasswd/index.js';
import { SignInRule } from '../hub/auth/sign-in-rule.js';
import { formatGroupOrigins, groupOriginsOf, type GroupOrigins } from './hub-groups.js';
import { errorMessage } from '../util/values.js';

/** Raised for a stdin line that is not a JSON object: the input is not JSON lines. */
class NotJsonLinesError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(line: Record<string, unknown>, field: string, problems: string[]): string {
  const value = line[field];
  if (typeof value === 'string' && value !== '') return value;
  problems.push(`${field}: expected a non-empty string, got ${JSON.stringify(value) ?? 'nothing'}`);
  return '';
}

function groupsField(line: Record<string, unknown>, field: string, problems: string[]): string[] {
  const value = line[field];
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((g) => typeof g === 'string' && g !== '')) return value as string[];
  problems.push(`${field}: expected a list of group names (without "group:"), got ${JSON.stringify(value)}`);
  return [];
}

function parseConfiguration<T>(
  line: Record<string, unknown>,
  field: string,
  parse: (raw: unknown) => T,
  problems: string[],
): T | undefined {
  if (!Object.prototype.hasOwnProperty.call(line, field)) return undefined;
  try {
    return parse(line[field]);
  } catch (err) {
    if (!(err instanceof AuthzConfigError)) throw err;
    problems.push(err.message);
    return undefined;
  }
}

const WORKFLOW_NAMES = { test: isValidWorkflowName, text: NAME_RULE };
const parseWorkflowSections = (raw: unknown): WorkflowAuthorization => parseWorkflowAuthorization(raw, WORKFLOW_NAMES);

/** The optional `workflow` of a line: absent means the server-wide rule. */
function workflowField(line: Record<string, unknown>, problems: string[]): string | undefined {
  const value = line.workflow;
  if (value === undefined) return undefined;
  if (typeof value === 'string' && isValidWorkflowName(value)) return value;
  problems.push(`workflow: expected a workflow name (${NAME_RULE}), got ${JSON.stringify(value)}`);
  return undefined;
}

/** The scope of a decision on `workflow`, with its section when workflow_authorization has one. */
function scopeOf(workflow: string | undefined, wa: WorkflowAuthorization | undefined): WorkflowScope | undefined {
  return workflow === undefined ? undefined : { name: workflow, section: wa?.sectionFor(workflow) };
}

/** One eval input line → its output object; a bad configuration or request is an `error` line. */
function evaluateLine(line: Record<string, unknown>): { permitted: string[] } | { error: string } {
  const problems: string[] = [];
  const site: SiteAuthorization | undefined = parseConfiguration(line, 'site_authorization', parseSiteAuthorization, problems);
  const ua: UserAuthorization | undefined = parseConfiguration(line, 'user_authorization', parseUserAuthorization, problems);
  const wa = parseConfiguration(line, 'workflow_authorization', parseWorkflowSections, problems);
  const workflow = workflowField(line, problems);
  const request: AuthzRequest = {
    owner: stringField(line, 'owner', problems),
    ownerGroups: groupsField(line, 'owner_groups', problems),
    user: stringField(line, 'user', problems),
    userGroups: groupsField(line, 'user_groups', problems),
  };
  if (problems.length > 0) return { error: problems.join('\n') };
  // decide() iterates in sorted order already.
  return { permitted: [...decide(site, ua, request, scopeOf(workflow, wa))] };
}

function parseInputLine(text: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NotJsonLinesError(`line ${lineNumber} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new NotJsonLinesError(`line ${lineNumber} is not a JSON object`);
  return value;
}

/** Writes output in large chunks and waits when the reader is slower than we are. */
class BufferedWriter {
  #parts: string[] = [];
  #size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  async write(text: string): Promise<void> {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const chunk = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    if (!this.stream.write(chunk)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }
}

async function runEval(): Promise<void> {
  const out = new BufferedWriter(process.stdout);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const text of lines) {
      lineNumber++;
      if (text.trim() === '') continue;
      await out.write(JSON.stringify(evaluateLine(parseInputLine(text, lineNumber))) + '\n');
    }
  } catch (err) {
    if (!(err instanceof NotJsonLinesError)) throw err;
    await out.flush();
    lines.close();
    process.stdin.destroy();
    process.stderr.write(`flotilla authz eval: stdin must be JSON lines (one JSON object per line): ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  await out.flush();
}

function collectGroupsOf(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--groups-of USER=g1,g2` values → extra groups per user. */
function parseGroupsOf(values: string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const value of values) {
    const eq = value.indexOf('=');
    const user = value.slice(0, eq);
    if (eq <= 0) throw new Error(`--groups-of ${JSON.stringify(value)}: expected USER=group1,group2`);
    const names = value
      .slice(eq + 1)
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== '');
    groups.set(user, [...(groups.get(user) ?? []), ...names]);
  }
  return groups;
}

/**
 * Why the hub would not know this person, or undefined when it would: an explanation for a name
 * with no account is still right for when it gets one, but should not be mistaken for a live one.
 */
function missingAccount(cfg: SiteConfig, user: string): string | undefined {
  const { htpasswd_file: file } = cfg.JupyterHub.authenticator;
  let accounts: ReadonlyMap<string, string>;
  try {
    accounts = new HtpasswdFile(file).accounts().hashes;
  } catch (err) {
    return `cannot tell whether ${user} has an account: ${errorMessage(err)}`;
  }
  if (!accounts.has(user)) return `${user} has no account (not in ${file}): the answer is for when they get one`;
  const refusal = new SignInRule(cfg.JupyterHub.authenticator).refusal(user);
  return refusal && `${refusal} and cannot sign in: the answer is for when they may`;
}

interface ExplainOptions {
  config: string;
  owner: string;
  user: string;
  workflow?: string;
  groupsOf?: string[];
  json?: boolean;
}

async function runExplain(options: ExplainOptions): Promise<void> {
  let request: AuthzRequest;
  let site: SiteAuthorization | undefined;
  let ua: UserAuthorization | undefined;
  let scope: WorkflowScope | undefined;
  let origins: Map<string, GroupOrigins>;
  let notes: string[];
  const people = [...new Set([options.owner, options.user])];
  try {
    if (options.workflow !== undefined && !isValidWorkflowName(options.workflow)) {
      throw new Error(`--workflow ${JSON.stringify(options.workflow)}: not a workflow name (${NAME_RULE})`);
    }
    const extra = parseGroupsOf(options.groupsOf ?? []);
    const cfg = loadSiteConfig(options.config);
    site = cfg.WorkflowServer.site_authorization;
    const sharing = loadOwnerSharing(cfg.JupyterHub.data_dir, options.owner);
    ua = sharing.user_authorization;
    scope = scopeOf(options.workflow, sharing.workflow_authorization);
    origins = await groupOriginsOf(cfg, [options.owner, options.user], extra);
    request = {
      owner: options.owner,
      ownerGroups: [...origins.get(options.owner)!.keys()],
      user: options.user,
      userGroups: [...origins.get(options.user)!.keys()],
    };
    notes = people.map((name) => missingAccount(cfg, name)).filter((n): n is string => n !== undefined);
  } catch (err) {
    process.stderr.write(`flotilla authz explain: ${errorMessage(err)}\n`);
    process.exitCode = 1;
    return;
  }
  const explanation = explainDecision(site, ua, request, scope);
  if (options.json) {
    // fromEntries defines own properties: a group named `constructor` is shown like any other.
    const groupOrigins = Object.fromEntries(people.map((name) => [name, Object.fromEntries(origins.get(name)!)]));
    process.stdout.write(JSON.stringify({ ...explanation, groupOrigins, notes }, null, 2) + '\n');
    return;
  }
  const where = people.map((name) => `Groups of ${name}: ${formatGroupOrigins(origins.get(name)!)}`);
  process.stdout.write([...notes.map((n) => `Note: ${n}`), ...where].join('\n') + '\n' + formatExplanation(explanation));
}

export function registerAuthzCommands(program: Command): void {
  const authz = program.command('authz').description('evaluate and explain delegated authorization decisions');

  authz
    .command('eval')
    .summary('decide for JSON lines on stdin, one JSON line out per line in')
    .description(
      'read JSON lines on stdin ({"site_authorization", "user_authorization", "workflow_authorization", "owner", ' +
        '"owner_groups", "user", "user_groups", "workflow"}) and write one line per input: {"permitted": [...]} or ' +
        '{"error": "..."}; with "workflow" the answer is for that workflow, without it the server-wide rule; ' +
        'exits 2 if stdin is not JSON lines',
    )
    .action(runEval);

  authz
    .command('explain')
    .summary('explain one decision on the real configuration files')
    .description(
      "show, step by step, what an access user may do on an owner's server and why, with the groups the hub uses: " +
        "the site file's load_groups, the groups managed at run time (read from DATA_DIR/hub.sqlite) and, with " +
        'WorkflowServer.system_groups, the operating system\'s',
    )
    .requiredOption('--config <file>', 'site configuration file')
    .requiredOption('--owner <name>', 'owner of the workflow server')
    .requiredOption('--user <name>', 'access user')
    .option('--workflow <name>', "decide for this workflow (the owner's workflow_authorization section with user_authorization)")
    .option('--groups-of <user=groups>', 'extra groups of a user, comma separated (repeatable), besides those the hub gives (site file, hub database, operating system)', collectGroupsOf)
    .option('--json', 'print the explanation object as JSON')
    .action(runExplain);
}
