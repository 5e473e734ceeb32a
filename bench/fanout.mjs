// Live fan-out benchmark: deltas from alice's real workflow server through the real hub to N
// graphql-transport-ws subscribers (bob, READ), each asking what the workflow page asks for.
//   single: an idle 2,000-task workflow (one long job running, the rest waiting behind it); one
//           change at a time (hold, then release, of one task) -> time from sending the mutation
//           until each subscriber has the delta. p50/p99/max over every (change, subscriber).
//   busy:   a run of 2,000 `true` tasks; for each job end, its recorded finishedAt (the engine's
//           clock at the state change) -> the last subscriber receiving that task's success.
// Also the CPU the workflow server and the hub spend per delta delivered (from /proc, not wall
// clock), which is stable on a busy machine where latencies are not.
//
// Settings: BENCH_QUICK=1 for a short run (6 changes instead of 20); BENCH_CHANGES (20),
// BENCH_SUBSCRIBERS ("1,50,200"), BENCH_TASKS (2000). Needs dist/ (npm run build).
import { DELTAS_QUERY, fanWorkflow, openSubscriber, startLiveSite } from './live-site.mjs';
import { cpuMs } from './lib/proc.mjs';
import { percentile, table, waitUntil } from './lib/stats.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
// The goals' own sizes in quick runs too (about 30 s here); quick runs make fewer changes.
const TASKS = Number(process.env.BENCH_TASKS ?? 2000);
const BUSY_TASKS = TASKS;
// Pairs of hold and release, so that each round leaves every task as it found it.
const CHANGES = 2 * Math.ceil(Number(process.env.BENCH_CHANGES ?? (QUICK ? 6 : 20)) / 2);
const COUNTS = (process.env.BENCH_SUBSCRIBERS ?? '1,50,200').split(',').map(Number);
const BUSY_SUBSCRIBERS = COUNTS.at(-1);
const DELIVERY_TIMEOUT_MS = 30_000;
/** Job ends this long after the first are the busy run's steady state (reported besides the whole run). */
const STEADY_AFTER_MS = 5_000;
const wallNow = () => performance.timeOrigin + performance.now();

/** Opens subscribers until there are `count`, each waiting for its first burst (with `tasks` tasks). */
async function growTo(site, subs, count, workflow, onDelta, tasks) {
  while (subs.length < count) subs.push(await openSubscriber(site, workflow, onDelta));
  await waitUntil(() => subs.every((s) => s.deltas > 0 && s.initialTasks >= tasks), 120_000, `${count} subscribers' first burst`);
}

async function singleChanges(site) {
  await site.loadIdle('big', TASKS);
  // Arrivals of the change under way: subscriber -> ms since the mutation was sent.
  let expect;
  const onDelta = (delta, receivedAt, sub) => {
    if (!expect) return;
    const hit = delta.updated?.tasks?.find((t) => t.id === expect.task && t.held === expect.held);
    if (hit && !expect.arrived.has(sub)) expect.arrived.set(sub, receivedAt - expect.sentAt);
  };
  const subs = [];
  const rows = [];
  for (const count of COUNTS) {
    await growTo(site, subs, count, 'big', onDelta, TASKS);
    const latencies = [];
    const lasts = [];
    const serverCpu0 = cpuMs(site.serverPid);
    const hubCpu0 = cpuMs(site.hubPid);
    for (let i = 0; i < CHANGES; i++) {
      const task = `1/leaf${Math.floor(i / 2)}`;
      const held = i % 2 === 0;
      expect = { task, held, sentAt: performance.now(), arrived: new Map() };
      await site.command(held ? 'hold' : 'release', 'big', [task]);
      await waitUntil(() => expect.arrived.size === subs.length, DELIVERY_TIMEOUT_MS, `change ${i} at ${count} subscribers`);
      const times = [...expect.arrived.values()];
      latencies.push(...times);
      lasts.push(Math.max(...times));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect = undefined;
    const deliveries = CHANGES * count;
    latencies.sort((a, b) => a - b);
    rows.push({
      count,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1),
      lastP99: percentile(lasts.sort((a, b) => a - b), 99),
      serverCpuPerChange: (cpuMs(site.serverPid) - serverCpu0) / CHANGES,
      serverCpuPerDelivery: (cpuMs(site.serverPid) - serverCpu0) / deliveries,
      hubCpuPerDelivery: (cpuMs(site.hubPid) - hubCpu0) / deliveries,
    });
  }
  for (const s of subs) s.ws.close();
  return rows;
}

async function busyRun(site) {
  await site.addWorkflow('busy', fanWorkflow(BUSY_TASKS, 'true'));
  // task -> { finishedAt (epoch ms), seen: subscribers that got its success, last: epoch ms }
  const ends = new Map();
  const onDelta = (delta, receivedAt, sub) => {
    // A subscriber that fell behind may learn of a task first in a merged `added`.
    for (const t of [...(delta.added?.tasks ?? []), ...(delta.updated?.tasks ?? [])]) {
      if (t.state !== 'succeeded' || !t.finishedAt) continue;
      let end = ends.get(t.id);
      if (!end) ends.set(t.id, (end = { finishedAt: Date.parse(t.finishedAt), seen: new Set(), last: 0 }));
      end.seen.add(sub);
      end.last = Math.max(end.last, performance.timeOrigin + receivedAt);
    }
  };
  const subs = [];
  // Not played yet, so it has no task instances: the first burst is the workflow alone.
  await growTo(site, subs, BUSY_SUBSCRIBERS, 'busy', onDelta, 0);
  const serverCpu0 = cpuMs(site.serverPid);
  const hubCpu0 = cpuMs(site.hubPid);
  const clientCpu0 = process.cpuUsage();
  const bytes0 = subs.reduce((n, s) => n + s.bytes, 0);
  const deltas0 = subs.reduce((n, s) => n + s.deltas, 0);
  const t0 = wallNow();
  await site.command('play', 'busy');
  const everywhere = () => [...ends.values()].filter((e) => e.seen.size === subs.length);
  // A run slower than the limit (a loaded machine) still reports the job ends that arrived.
  await waitUntil(() => everywhere().length === BUSY_TASKS, 600_000, 'every job end at every subscriber').catch((err) => console.log(err.message));
  const seconds = (wallNow() - t0) / 1000;
  const deliveries = subs.reduce((n, s) => n + s.deltas, 0) - deltas0;
  const clientCpu = process.cpuUsage(clientCpu0);
  const latencies = everywhere().map((e) => e.last - e.finishedAt).sort((a, b) => a - b);
  // Said apart because they differ in kind: the first seconds carry every subscriber's copy of the
  // `added` burst of all tasks (play creates them), the rest only changes.
  const firstEnd = Math.min(...[...ends.values()].map((e) => e.finishedAt));
  const steady = everywhere().filter((e) => e.finishedAt >= firstEnd + STEADY_AFTER_MS).map((e) => e.last - e.finishedAt).sort((a, b) => a - b);
  for (const s of subs) s.ws.close();
  return {
    count: subs.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
    steadyP50: percentile(steady, 50),
    steadyP99: percentile(steady, 99),
    tasksPerSecond: latencies.length / seconds,
    complete: latencies.length,
    deltasPerSubscriber: deliveries / subs.length,
    serverCpuPerDelivery: (cpuMs(site.serverPid) - serverCpu0) / deliveries,
    hubCpuPerDelivery: (cpuMs(site.hubPid) - hubCpu0) / deliveries,
    clientCpuPerDelivery: (clientCpu.user + clientCpu.system) / 1000 / deliveries,
    bytesPerDelivery: (subs.reduce((n, s) => n + s.bytes, 0) - bytes0) / deliveries,
  };
}

const site = await startLiveSite();
try {
  console.log(`fan-out benchmark: ${TASKS}-task idle workflow, subscribers ${COUNTS.join('/')}, ${CHANGES} changes each; ` +
    `busy run of ${BUSY_TASKS} tasks; Node ${process.version}`);
  console.log(`subscription: ${DELTAS_QUERY.replace(/\s+/g, ' ').slice(0, 100)}…`);
  const single = await singleChanges(site);
  // Said at once: the busy run that follows can take minutes on a loaded machine.
  for (const r of single) console.log(`single change, ${r.count} subscribers: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
  const busy = await busyRun(site);
  const f = (n) => n.toFixed(1);
  const f3 = (n) => n.toFixed(3);
  console.log(table(['case', 'subscribers', 'p50 ms', 'p99 ms', 'max ms', 'server CPU ms/delta', 'hub CPU ms/delta'], [
    ...single.map((r) => [`single change (${f(r.serverCpuPerChange)} server CPU ms each, mutation included)`, r.count,
      f(r.p50), f(r.p99), f(r.max), f3(r.serverCpuPerDelivery), f3(r.hubCpuPerDelivery)]),
    [`busy run, job end -> last subscriber (${busy.complete}/${BUSY_TASKS} ends, ${busy.tasksPerSecond.toFixed(0)} tasks/s, ${busy.deltasPerSubscriber.toFixed(0)} deltas each)`,
      busy.count, f(busy.p50), f(busy.p99), f(busy.max), f3(busy.serverCpuPerDelivery), f3(busy.hubCpuPerDelivery)],
  ]));
  console.log(`busy run, job ends from ${STEADY_AFTER_MS / 1000} s after the first on: p50 ${f(busy.steadyP50)} ms, p99 ${f(busy.steadyP99)} ms`);
  console.log(`busy run: ${busy.bytesPerDelivery.toFixed(0)} bytes per delta; the subscribers' own process spent ${f3(busy.clientCpuPerDelivery)} CPU ms per delta`);
  console.log('(wall-clock latencies on this machine; CPU from /proc/PID/stat, per delta delivered to one subscriber;');
  console.log(' the single-change rows include the mutation itself, the busy row includes running the jobs)');
  const result = {};
  for (const r of single) {
    result[`fanout_single_p50_ms_${r.count}`] = +f(r.p50);
    result[`fanout_single_p99_ms_${r.count}`] = +f(r.p99);
    result[`fanout_single_max_ms_${r.count}`] = +f(r.max);
    result[`fanout_single_server_cpu_ms_per_delta_${r.count}`] = +f3(r.serverCpuPerDelivery);
    result[`fanout_single_server_cpu_ms_per_change_${r.count}`] = +f(r.serverCpuPerChange);
  }
  result[`fanout_busy_p50_ms_${busy.count}`] = +f(busy.p50);
  result[`fanout_busy_p99_ms_${busy.count}`] = +f(busy.p99);
  result[`fanout_busy_max_ms_${busy.count}`] = +f(busy.max);
  result[`fanout_busy_steady_p99_ms_${busy.count}`] = +f(busy.steadyP99);
  result[`fanout_busy_bytes_per_delta_${busy.count}`] = Math.round(busy.bytesPerDelivery);
  result[`fanout_busy_server_cpu_ms_per_delta_${busy.count}`] = +f3(busy.serverCpuPerDelivery);
  result[`fanout_busy_hub_cpu_ms_per_delta_${busy.count}`] = +f3(busy.hubCpuPerDelivery);
  console.log(`RESULT ${JSON.stringify(result)}`);
} finally {
  site.stop();
}
process.exit(0);
