/**
 * Reads flow.yaml into a checked definition. Every error carries the file, line and column of
 * the offending node, taken from the yaml parser's own positions.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Node, Pair, YAMLMap } from 'yaml';
import { directiveProblem, LOCAL_PLATFORM } from '../config/site.js';
import { didYouMean } from '../config/suggest.js';
import type { FlowErrorView } from './types.js';

export interface Dependency {
  name: string;
  /** 0 = same cycle point, k = k points earlier (`name[-k]`). */
  offset: number;
}

export interface TaskDefinition {
  name: string;
  script: string;
  depends: Dependency[];
  env: Record<string, string>;
  /** Extra tries after a failure, one budget for jobs that exit non-zero and jobs that cannot start. */
  retries: number;
  xtrigger?: string;
  /** Where its jobs run (a platform of the site's); absent: `local`. */
  platform?: string;
  /** sbatch options, the `defaults:` section's with the task's own on top (the platform's go under both). */
  directives: Record<string, string>;
}

export interface FlowDefinition {
  description: string;
  cycles: number;
  runahead: number;
  tasks: Map<string, TaskDefinition>;
}

export type FlowResult = { ok: true; flow: FlowDefinition } | { ok: false; error: FlowErrorView };

export const DEFAULT_RUNAHEAD = 3;
const TOP_KEYS = ['description', 'cycles', 'runahead', 'defaults', 'tasks'];
const TASK_KEYS = ['script', 'depends', 'env', 'retries', 'xtrigger', 'platform', 'directives'];
const DEFAULTS_KEYS = ['platform', 'directives'];

/** Settings every task takes unless it gives its own (directives merge, the task's winning). */
interface TaskDefaults {
  platform?: string;
  directives: Record<string, string>;
}
const TASK_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const DEPENDENCY = /^([A-Za-z_][A-Za-z0-9_-]{0,63})(?:\[-([1-9][0-9]{0,5})\])?$/;

class FlowError extends Error {
  constructor(message: string, readonly node: Node | null | undefined) {
    super(message);
  }
}

/** A flow.yaml's text, or the error that reading it gave (naming it as `label`). */
export function readFlowSource(file: string, label: string = file): { ok: true; source: string } | { ok: false; error: FlowErrorView } {
  try {
    return { ok: true, source: readFileSync(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'missing: every folder under workflows/ needs a flow.yaml' : `cannot read: ${code ?? 'error'}`;
    return { ok: false, error: { message, file: label } };
  }
}

/**
 * Reads and checks a flow.yaml; errors name it as `label` (what the people reading them see).
 * With `platforms` (the site's platform names), a task on any other platform is an error.
 */
export function readFlowFile(file: string, label: string = file, platforms?: readonly string[]): FlowResult {
  const read = readFlowSource(file, label);
  return read.ok ? parseFlow(read.source, label, platforms) : read;
}

/**
 * The yaml library, loaded with the first flow file read: a workflow server with no workflows
 * never needs it (some 3 MB of a server's idle memory, bench/memory.mjs). Synchronous, as reading
 * a flow file is; required rather than bundled (scripts/bundle.mjs), so loaded only then.
 */
let yamlLibrary: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (yamlLibrary ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

const isMap = (node: unknown): node is YAMLMap => yaml().isMap(node);
const isScalar = (node: unknown): node is Yaml.Scalar => yaml().isScalar(node);
const isSeq = (node: unknown): node is Yaml.YAMLSeq => yaml().isSeq(node);

export function parseFlow(source: string, file: string, platforms?: readonly string[]): FlowResult {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true });
  const at = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const syntax = doc.errors[0];
  if (syntax) {
    // The parser's first line ends "at line L, column C:" before a code excerpt with a caret
    // under the place: the position is reported on its own, the excerpt is kept below the sentence.
    const [first = syntax.message, ...rest] = syntax.message.split('\n');
    const sentence = first.replace(/ at line \d+, column \d+:$/, '');
    const excerpt = rest.filter((line) => line.trim() !== '').join('\n');
    return { ok: false, error: { message: excerpt ? `${sentence}\n${excerpt}` : sentence, file, ...at(syntax.pos[0]) } };
  }
  try {
    return { ok: true, flow: checkTop(doc.contents, platforms) };
  } catch (err) {
    if (!(err instanceof FlowError)) throw err;
    return { ok: false, error: { message: err.message, file, ...at(err.node?.range?.[0]) } };
  }
}

function checkTop(root: Node | null, platforms: readonly string[] | undefined): FlowDefinition {
  if (!isMap(root)) throw new FlowError('the file must be a mapping with a "tasks" key', root);
  rejectUnknownKeys(root, TOP_KEYS, '');
  const description = optionalString(root, 'description', '') ?? '';
  const cycles = optionalInteger(root, 'cycles', 1, 1, 100_000);
  const runahead = optionalInteger(root, 'runahead', DEFAULT_RUNAHEAD, 1, 1000);
  const defaults = checkDefaults(root, platforms);
  const tasksPair = findPair(root, 'tasks');
  if (!tasksPair) throw new FlowError('"tasks" is required', root);
  const tasksNode = tasksPair.value as Node | null;
  if (!isMap(tasksNode) || tasksNode.items.length === 0) {
    throw new FlowError('tasks: must be a mapping of task names to task settings', tasksNode ?? (tasksPair.key as Node));
  }
  const tasks = new Map<string, TaskDefinition>();
  const dependencyNodes = new Map<string, Node[]>();
  for (const pair of tasksNode.items) {
    const keyNode = pair.key as Node;
    const taskName = scalarString(keyNode);
    if (taskName === undefined || !TASK_NAME.test(taskName)) {
      throw new FlowError(`tasks: "${String(taskName)}" is not a valid task name (a letter or "_", then letters, digits, "_" or "-")`, keyNode);
    }
    const { task, depNodes } = checkTask(taskName, pair.value as Node | null, keyNode, defaults, platforms);
    tasks.set(taskName, task);
    dependencyNodes.set(taskName, depNodes);
  }
  for (const task of tasks.values()) {
    task.depends.forEach((dep, i) => {
      if (!tasks.has(dep.name)) {
        const hint = suggest(dep.name, [...tasks.keys()]);
        throw new FlowError(`tasks.${task.name}.depends: unknown task "${dep.name}"${hint}`, dependencyNodes.get(task.name)?.[i]);
      }
    });
  }
  rejectCycles(tasks, dependencyNodes);
  return { description, cycles, runahead, tasks };
}

function checkDefaults(root: YAMLMap, platforms: readonly string[] | undefined): TaskDefaults {
  const pair = findPair(root, 'defaults');
  if (!pair) return { directives: {} };
  const node = pair.value as Node | null;
  if (!isMap(node)) throw new FlowError('defaults: must be a mapping of task settings (platform, directives)', node ?? (pair.key as Node));
  rejectUnknownKeys(node, DEFAULTS_KEYS, 'defaults.');
  const platform = checkPlatform(node, 'defaults', platforms);
  return { ...(platform !== undefined ? { platform } : {}), directives: checkDirectives(node, 'defaults') };
}

function checkPlatform(map: YAMLMap, where: string, platforms: readonly string[] | undefined): string | undefined {
  const platform = optionalString(map, 'platform', where);
  if (platform === undefined || platforms === undefined || platforms.includes(platform)) return platform;
  throw new FlowError(
    `${where}.platform: no platform ${JSON.stringify(platform)} on this site${didYouMean(platform, platforms)}; the site has ${platforms.join(', ')}`,
    findPair(map, 'platform')?.value as Node,
  );
}

function checkDirectives(map: YAMLMap, where: string): Record<string, string> {
  const pair = findPair(map, 'directives');
  if (!pair) return {};
  const node = pair.value as Node | null;
  if (!isMap(node)) throw new FlowError(`${where}.directives: must be a mapping of sbatch options, such as "--time": "00:10:00"`, node ?? (pair.key as Node));
  const directives: Record<string, string> = {};
  for (const item of node.items) {
    const name = scalarString(item.key as Node) ?? String((item.key as { value?: unknown } | null)?.value);
    const value = item.value as Node | null;
    const plain = isScalar(value) ? (value.value === null ? '' : value.value) : undefined;
    const problem = directiveProblem(name, plain);
    if (problem) throw new FlowError(`${where}.directives: ${problem}`, problem.startsWith('the value') ? (value ?? (item.key as Node)) : (item.key as Node));
    directives[name] = String(plain);
  }
  return directives;
}

function checkTask(
  name: string, node: Node | null, keyNode: Node, defaults: TaskDefaults, platforms: readonly string[] | undefined,
): { task: TaskDefinition; depNodes: Node[] } {
  const where = `tasks.${name}`;
  if (!isMap(node)) throw new FlowError(`${where}: must be a mapping with at least "script"`, node ?? keyNode);
  rejectUnknownKeys(node, TASK_KEYS, `${where}.`);
  const scriptPair = findPair(node, 'script');
  if (!scriptPair) throw new FlowError(`${where}: "script" is required`, keyNode);
  const script = optionalString(node, 'script', where);
  if (script === undefined) throw new FlowError(`${where}.script: must be a string`, scriptPair.value as Node);
  const retries = optionalInteger(node, 'retries', 0, 0, 100, where);
  const xtrigger = optionalString(node, 'xtrigger', where);
  if (xtrigger !== undefined && !/^[A-Za-z0-9_.-]+$/.test(xtrigger)) {
    throw new FlowError(`${where}.xtrigger: use letters, digits, "_", "." or "-"`, findPair(node, 'xtrigger')?.value as Node);
  }
  const env: Record<string, string> = {};
  const envPair = findPair(node, 'env');
  if (envPair) {
    const envNode = envPair.value as Node | null;
    if (!isMap(envNode)) throw new FlowError(`${where}.env: must be a mapping of names to values`, envNode ?? (envPair.key as Node));
    for (const item of envNode.items) {
      const key = scalarString(item.key as Node);
      if (key === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        throw new FlowError(`${where}.env: "${String(key)}" is not an environment variable name`, item.key as Node);
      }
      const value = item.value as Node | null;
      if (!isScalar(value) || !['string', 'number', 'boolean'].includes(typeof value.value)) {
        throw new FlowError(`${where}.env.${key}: must be a string, number or boolean`, value ?? (item.key as Node));
      }
      env[key] = String(value.value);
    }
  }
  const depends: Dependency[] = [];
  const depNodes: Node[] = [];
  const depPair = findPair(node, 'depends');
  if (depPair) {
    const depNode = depPair.value as Node | null;
    const items: Node[] = isSeq(depNode) ? (depNode.items as Node[]) : isScalar(depNode) ? [depNode] : [];
    if (!isSeq(depNode) && !isScalar(depNode)) {
      throw new FlowError(`${where}.depends: must be a list of task names`, depNode ?? (depPair.key as Node));
    }
    for (const item of items) {
      const text = scalarString(item);
      const m = text === undefined ? null : DEPENDENCY.exec(text);
      if (!m) throw new FlowError(`${where}.depends: "${String(text)}" is not "name" or "name[-k]"`, item);
      depends.push({ name: m[1]!, offset: m[2] ? Number(m[2]) : 0 });
      depNodes.push(item);
    }
  }
  const platform = checkPlatform(node, where, platforms) ?? defaults.platform;
  const directives = { ...defaults.directives, ...checkDirectives(node, where) };
  const task: TaskDefinition = {
    name, script, depends, env, retries, directives,
    ...(xtrigger !== undefined ? { xtrigger } : {}), ...(platform !== undefined && platform !== LOCAL_PLATFORM ? { platform } : {}),
  };
  return { task, depNodes };
}

/** Same-cycle dependencies must form a DAG; `name[-k]` edges point backwards in time and cannot loop. */
function rejectCycles(tasks: Map<string, TaskDefinition>, depNodes: Map<string, Node[]>): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    path.push(name);
    const task = tasks.get(name)!;
    task.depends.forEach((dep, i) => {
      if (dep.offset !== 0) return;
      const seen = state.get(dep.name);
      if (seen === 'visiting') {
        const loop = [...path.slice(path.indexOf(dep.name)), dep.name];
        throw new FlowError(`tasks.${name}.depends: dependency cycle ${loop.reverse().join(' → ')}`, depNodes.get(name)?.[i]);
      }
      if (seen === undefined) visit(dep.name);
    });
    path.pop();
    state.set(name, 'done');
  };
  for (const name of tasks.keys()) if (!state.has(name)) visit(name);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => scalarString(p.key as Node) === key);
}

function rejectUnknownKeys(map: YAMLMap, known: string[], prefix: string): void {
  for (const pair of map.items) {
    const key = scalarString(pair.key as Node);
    if (key === undefined || !known.includes(key)) {
      throw new FlowError(`${prefix}${String(key)}: unknown key${suggest(String(key), known)}; expected one of ${known.join(', ')}`, pair.key as Node);
    }
  }
}

function scalarString(node: Node | null | undefined): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

function optionalString(map: YAMLMap, key: string, where: string): string | undefined {
  const pair = findPair(map, key);
  if (!pair) return undefined;
  const value = scalarString(pair.value as Node);
  if (value === undefined) throw new FlowError(`${where ? `${where}.` : ''}${key}: must be a string`, (pair.value as Node) ?? (pair.key as Node));
  return value;
}

function optionalInteger(map: YAMLMap, key: string, fallback: number, min: number, max: number, where = ''): number {
  const pair = findPair(map, key);
  if (!pair) return fallback;
  const node = pair.value as Node | null;
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FlowError(`${where ? `${where}.` : ''}${key}: must be a whole number from ${min} to ${max}`, node ?? (pair.key as Node));
  }
  return value;
}

/** A "did you mean" hint for a near-miss name (edit distance ≤ 2). */
function suggest(word: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : `; did you mean "${best}"?`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
