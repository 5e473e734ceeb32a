// A real hub on a temporary site with alice's real workflow server behind it, for the benchmarks
// of live subscriptions (fanout.mjs) and of the workflow server's memory (memory.mjs). The hub runs
// in a child process of its own (`node bench/live-site.mjs hub`), so that what the benchmark
// process spends on its clients is not counted as the hub's or the server's.
//
// alice owns the workflows and holds a token for mutations; bob reads them (site default READ)
// through his token, as a support person's script would. Subscribers are graphql-transport-ws
// clients (the `ws` package) opened through the hub.
import { chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveBenchSite, startBenchSite } from './lib/bench-site.mjs';
import { percentile, waitUntil } from './lib/stats.mjs';

const HERE = fileURLToPath(import.meta.url);
export const OWNER = 'alice';
const READER = 'bob';

/** The page's own selection (static/js/workflow.js): what a browser on a workflow asks for. */
const WORKFLOW_FIELDS = `id name description status lastRun { outcome at failed summary } cycles runaheadLimit holdPoint verbosity
  graphWindowExtent lastActivity error { message file line }
  stateCounts { waiting preparing submitted running succeeded failed submitFailed expired } edges { from to }
  broadcasts { id cyclePoint namespace settings { env script platform directives } seq setBy setAt }`;
const TASK_FIELDS = 'id cycle name state held queued submitNum startedAt finishedAt xtrigger xtriggerSatisfied messages { at severity text by }';
export const DELTAS_QUERY = `subscription D($ws: [ID!]) { deltas(workflows: $ws) { workflow
  added { workflow { ${WORKFLOW_FIELDS} } tasks { ${TASK_FIELDS} } } updated { workflow tasks } pruned { workflow tasks } } }`;

/**
 * `tasks` tasks: a gate, and behind it a wide fan plus chains of ten (bench/scheduler.mjs's
 * "fan+chains", gated): with a gate that never ends, nothing else runs and the workflow is idle.
 */
export function fanWorkflow(tasks, gateScript) {
  const chains = Math.floor(tasks / 50);
  const lines = ['tasks:', `  root: { script: ${JSON.stringify(gateScript)} }`];
  for (let i = 0; i < tasks - 1 - chains * 10; i++) lines.push(`  leaf${i}: { script: "true", depends: [root] }`);
  for (let c = 0; c < chains; c++) {
    for (let s = 0; s < 10; s++) lines.push(`  c${c}_${s}: { script: "true", depends: [${s ? `c${c}_${s - 1}` : 'root'}] }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Starts the hub child and resolves when alice's server is up. */
export async function startLiveSite() {
  const info = await startBenchSite(HERE, ['hub']);
  const ownerDir = join(info.dir, 'users', OWNER);
  return {
    ...info,
    serverPid: info.serverPids[OWNER],
    readerToken: info.tokens[READER],
    /** A GraphQL request over HTTP through the hub, as alice (the owner). */
    async graphql(query, variables = {}) {
      const res = await fetch(`${info.url}/user/${OWNER}/graphql`, {
        method: 'POST',
        headers: { authorization: `token ${info.tokens[OWNER]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = await res.json();
      if (!res.ok || body.errors) throw new Error(`graphql ${res.status}: ${JSON.stringify(body.errors ?? body)}`);
      return body.data;
    },
    /** Writes a workflow folder the way its owner would (their account owns it) and waits until the server lists it. */
    async addWorkflow(name, yaml) {
      const workflows = join(ownerDir, 'workflows');
      const { uid, gid } = statSync(workflows);
      mkdirSync(join(workflows, name));
      writeFileSync(join(workflows, name, 'flow.yaml'), yaml);
      for (const path of [join(workflows, name), join(workflows, name, 'flow.yaml')]) chownSync(path, uid, gid);
      await waitUntil(async () => (await this.graphql('{ workflows { id } }')).workflows.some((w) => w.id === name), 20_000, `workflow ${name} listed`);
    },
    async command(op, workflow, tasks) {
      const args = tasks ? `, tasks: ${JSON.stringify(tasks)}` : '';
      const data = await this.graphql(`mutation { ${op}(workflows: ["${workflow}"]${args}) { ok message } }`);
      const [result] = data[op];
      if (!result.ok) throw new Error(`${op} ${workflow}: ${result.message}`);
    },
    /** Adds and plays a `tasks`-task fanWorkflow behind a gate that never ends, and waits until it
     * is idle: the gate running, everything else waiting. */
    async loadIdle(name, tasks) {
      await this.addWorkflow(name, fanWorkflow(tasks, 'sleep 3600'));
      await this.command('play', name);
      await waitUntil(async () => {
        const { workflow } = await this.graphql(`{ workflow(id: "${name}") { stateCounts { running waiting } } }`);
        return workflow.stateCounts.running === 1 && workflow.stateCounts.waiting === tasks - 1;
      }, 30_000, `${name} idle with its gate running`);
    },
    stop: () => info.child.kill('SIGTERM'),
  };
}

// Every subscriber of a benchmark lives in this one process, where a real one has a browser of
// its own. A message is timed when it arrives and parsed a little later, a few at a time between
// turns of the event loop: otherwise the last of 200 subscribers would be charged for parsing
// the other 199 copies first (the 460 KB `added` burst of a 2,000-task run: about 1.6 s of this
// process's CPU), which no real subscriber waits for.
const unread = [];
const READ_SLICE_MS = 4;
function readLater(data, arrival, handle) {
  unread.push({ data, arrival, handle });
  if (unread.length === 1) setImmediate(readSome);
}
function readSome() {
  const until = performance.now() + READ_SLICE_MS;
  let at = 0;
  while (at < unread.length && performance.now() < until) {
    const { data, arrival, handle } = unread[at++];
    handle(JSON.parse(data.toString()), arrival);
  }
  unread.splice(0, at);
  if (unread.length > 0) setImmediate(readSome);
}

/**
 * Whether subscribers offer permessage-deflate, as browsers do (BENCH_WS_DEFLATE=1). Not by
 * default: the workflow server deflates a message once for everyone, but 200 subscribers in this
 * one process would each inflate their copy here, through `ws`'s ten-at-a-time zlib queue, and
 * the figures would be this process's (1.2 s instead of 0.7 s at the p99 of a busy run). What
 * compression saves on the wire is measured apart (fanout.mjs).
 */
const DEFLATE = process.env.BENCH_WS_DEFLATE === '1';

/**
 * A graphql-transport-ws client through the hub as bob, subscribed to `deltas` of one workflow.
 * `onDelta(delta, arrival, sub)` sees each delta, `arrival` being when its message came:
 * `mono` (performance.now(), for spans within this process) and `wall` (Date.now(), to compare
 * with the engine's times); `deflate`: whether it offers permessage-deflate.
 */
export async function openSubscriber(site, workflow, onDelta, { deflate = DEFLATE } = {}) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`${site.url.replace('http', 'ws')}/user/${OWNER}/subscriptions`, 'graphql-transport-ws', {
    headers: { authorization: `token ${site.readerToken}` },
    perMessageDeflate: deflate,
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body}`)));
    });
    ws.once('error', reject);
  });
  const acked = new Promise((resolve) => ws.once('message', resolve));
  ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await acked;
  const sub = {
    ws,
    deltas: 0,
    bytes: 0,
    initialTasks: 0,
    /** Another `deltas` subscription on this socket. */
    follow: (id, other) => ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: DELTAS_QUERY, variables: { ws: [other] } } })),
  };
  ws.on('message', (data) => {
    sub.bytes += data.length;
    readLater(data, { mono: performance.now(), wall: Date.now() }, (message, arrival) => {
      if (message.type !== 'next') return;
      const delta = message.payload.data?.deltas;
      if (!delta) return;
      sub.deltas++;
      sub.initialTasks += delta.added?.tasks?.length ?? 0;
      onDelta(delta, arrival, sub);
    });
  });
  sub.follow('1', workflow);
  return sub;
}

/** Job ends this long after the first are a busy run's steady state (reported besides the whole run). */
export const STEADY_AFTER_MS = 5_000;
/** The width of a slot of the busy run's timeline (BENCH_TIMELINE=1 in memory.mjs). */
const TIMELINE_SLOT_MS = 500;

/**
 * Follows a busy run's job ends at every subscriber: for each task of `workflow`, its recorded
 * finishedAt (the engine's clock at the state change) and when the last subscriber got its success.
 */
export function trackJobEnds(workflow) {
  // task -> { finishedAt (epoch ms), seen: subscribers that got its success, last: epoch ms }
  const ends = new Map();
  const everywhere = (subscribers) => [...ends.values()].filter((e) => e.seen.size === subscribers);
  return {
    onDelta(delta, arrival, sub) {
      if (delta.workflow !== workflow) return;
      // A subscriber that fell behind may learn of a task first in a merged `added`.
      for (const t of [...(delta.added?.tasks ?? []), ...(delta.updated?.tasks ?? [])]) {
        if (t.state !== 'succeeded' || !t.finishedAt) continue;
        let end = ends.get(t.id);
        if (!end) ends.set(t.id, (end = { finishedAt: Date.parse(t.finishedAt), seen: new Set(), last: 0 }));
        end.seen.add(sub);
        // The engine's clock is the system's wall clock: so is this one. The time origin plus
        // performance.now() is not: on this virtual machine the two drifted 5 ms a second apart.
        end.last = Math.max(end.last, arrival.wall);
      }
    },
    /** How many job ends every one of `subscribers` has. */
    complete: (subscribers) => everywhere(subscribers).length,
    /** Job end -> last subscriber, over the whole run and over its steady state. */
    latencies(subscribers) {
      const all = everywhere(subscribers);
      const sorted = (list) => list.map((e) => e.last - e.finishedAt).sort((a, b) => a - b);
      const whole = sorted(all);
      // Said apart: the first seconds are the run's busiest (its first jobs start and end while
      // the engine works out its first passes), the rest is its steady state.
      const firstEnd = Math.min(...all.map((e) => e.finishedAt));
      const steady = sorted(all.filter((e) => e.finishedAt >= firstEnd + STEADY_AFTER_MS));
      // Per half second after the first end: how many ends, and the slowest to reach everyone.
      const timeline = [];
      for (const e of all) {
        const slot = Math.floor((e.finishedAt - firstEnd) / TIMELINE_SLOT_MS);
        timeline[slot] ??= { from: (slot * TIMELINE_SLOT_MS) / 1000, ends: 0, slowest: 0 };
        timeline[slot].ends++;
        timeline[slot].slowest = Math.max(timeline[slot].slowest, e.last - e.finishedAt);
      }
      return {
        complete: whole.length,
        p50: percentile(whole, 50),
        p99: percentile(whole, 99),
        max: whole.at(-1),
        steadyP50: percentile(steady, 50),
        steadyP99: percentile(steady, 99),
        timeline: timeline.filter(Boolean),
      };
    },
  };
}

if (process.argv[2] === 'hub') {
  await serveBenchSite({
    users: [OWNER, READER],
    // Room for every subscriber of the benchmark on one user's sockets.
    workflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } }, limits: { sockets_per_user: 1000 } },
    start: [OWNER],
    tokens: [OWNER, READER],
  });
}
