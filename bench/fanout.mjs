// Live fan-out benchmark: deltas from alice's real workflow server through the real hub to N
// graphql-transport-ws subscribers (bob, READ), each asking what the workflow page asks for.
//   single: an idle 2,000-task workflow (one long job running, the rest waiting behind it); one
//           change at a time (hold, then release, of one task) -> time from sending the mutation
//           until each subscriber has the delta. p50/p99/max over every (change, subscriber).
// Also the CPU the workflow server and the hub spend per delta delivered (from /proc, not wall
// clock), which is stable on a busy machine where latencies are not; and the workflow's first
// burst on the wire to one more subscriber, plain and with permessage-deflate offered as browsers
// do (the subscribers above do not offer it: see live-site.mjs).
// The busy case (a run of 2,000 `true` tasks: job end -> last of 200 subscribers) is measured in
// memory.mjs's busy run, which has the same 200 subscribers on the same kind of site: one run of
// 2,000 jobs, most of a minute on a 2-core machine, serves both.
//
// Settings: BENCH_QUICK=1 for a short run (12 changes instead of 20); BENCH_CHANGES (20),
// BENCH_SUBSCRIBERS ("1,50,200"), BENCH_TASKS (2000). Needs dist/ (npm run build).
import { DELTAS_QUERY, openSubscriber, startLiveSite } from './live-site.mjs';
import { cpuMs } from './lib/proc.mjs';
import { percentile, table, waitUntil } from './lib/stats.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
// The goals' own sizes in quick runs too; quick runs make fewer changes, but enough that the
// p99 over every delivery is not one slow change's (6 changes at 200 subscribers gave 30-69 ms).
const TASKS = Number(process.env.BENCH_TASKS ?? 2000);
// Pairs of hold and release, so that each round leaves every task as it found it.
const CHANGES = 2 * Math.ceil(Number(process.env.BENCH_CHANGES ?? (QUICK ? 12 : 20)) / 2);
const COUNTS = (process.env.BENCH_SUBSCRIBERS ?? '1,50,200').split(',').map(Number);
const DELIVERY_TIMEOUT_MS = 30_000;

/** Opens subscribers until there are `count`, each waiting for its first burst (with `tasks` tasks). */
async function growTo(site, subs, count, workflow, onDelta, tasks) {
  while (subs.length < count) subs.push(await openSubscriber(site, workflow, onDelta));
  await waitUntil(() => subs.every((s) => s.deltas > 0 && s.initialTasks >= tasks), 120_000, `${count} subscribers' first burst`);
}

async function singleChanges(site) {
  await site.loadIdle('big', TASKS);
  // Arrivals of the change under way: subscriber -> ms since the mutation was sent.
  let expect;
  const onDelta = (delta, arrival, sub) => {
    if (!expect) return;
    const hit = delta.updated?.tasks?.find((t) => t.id === expect.task && t.held === expect.held);
    if (hit && !expect.arrived.has(sub)) expect.arrived.set(sub, arrival.mono - expect.sentAt);
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

/** The first burst of `workflow` (with `tasks` tasks) on the wire to one subscriber, KB. */
async function burstOnWire(site, workflow, tasks, deflate) {
  let whole;
  const sub = await openSubscriber(site, workflow, () => undefined, { deflate });
  // Bytes the socket has read, frames and all: what crossed the network.
  const wire = () => sub.ws._socket.bytesRead;
  const before = wire();
  await waitUntil(() => sub.initialTasks >= tasks && (whole = wire()), 60_000, 'a first burst');
  sub.ws.close();
  return (whole - before) / 1024;
}

const site = await startLiveSite();
try {
  console.log(`fan-out benchmark: ${TASKS}-task idle workflow, subscribers ${COUNTS.join('/')}, ${CHANGES} changes each; Node ${process.version}`);
  console.log(`subscription: ${DELTAS_QUERY.replace(/\s+/g, ' ').slice(0, 100)}…`);
  const single = await singleChanges(site);
  const wire = { plain: await burstOnWire(site, 'big', TASKS, false), deflated: await burstOnWire(site, 'big', TASKS, true) };
  console.log(`first burst of the ${TASKS}-task workflow on the wire: ${wire.plain.toFixed(0)} KB plain, ` +
    `${wire.deflated.toFixed(0)} KB to a subscriber that offers permessage-deflate (deflated once for everyone)`);
  for (const r of single) console.log(`single change, ${r.count} subscribers: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
  const f = (n) => n.toFixed(1);
  const f3 = (n) => n.toFixed(3);
  console.log(table(['case', 'subscribers', 'p50 ms', 'p99 ms', 'max ms', 'server CPU ms/delta', 'hub CPU ms/delta'], [
    ...single.map((r) => [`single change (${f(r.serverCpuPerChange)} server CPU ms each, mutation included)`, r.count,
      f(r.p50), f(r.p99), f(r.max), f3(r.serverCpuPerDelivery), f3(r.hubCpuPerDelivery)]),
  ]));
  console.log('(wall-clock latencies on this machine; CPU from /proc/PID/stat, per delta delivered to one subscriber;');
  console.log(' each row includes the mutation itself; the busy case is in bench/memory.mjs)');
  const result = {};
  for (const r of single) {
    result[`fanout_single_p50_ms_${r.count}`] = +f(r.p50);
    result[`fanout_single_p99_ms_${r.count}`] = +f(r.p99);
    result[`fanout_single_max_ms_${r.count}`] = +f(r.max);
    result[`fanout_single_server_cpu_ms_per_delta_${r.count}`] = +f3(r.serverCpuPerDelivery);
    result[`fanout_single_server_cpu_ms_per_change_${r.count}`] = +f(r.serverCpuPerChange);
  }
  result.fanout_burst_wire_kb_plain = Math.round(wire.plain);
  result.fanout_burst_wire_kb_deflated = Math.round(wire.deflated);
  console.log(`RESULT ${JSON.stringify(result)}`);
} finally {
  site.stop();
}
process.exit(0);
