// Memory of alice's real workflow server (VmRSS from /proc/PID/status), started by a real hub:
//   just started no workflows, at once after start (what start-up left behind)
//   idle         no workflows, after 15 s without requests: V8's memory reducer gives back what
//                start-up left once a process has had nothing to do for several seconds (its
//                own timing, 8 s or more), as it does for any server left alone
//   loaded       a 2,000-task workflow played and idle (its gate job runs, the rest wait)
//   subscribers  200 subscribers through the hub (bob, READ), each after its full first burst
//   busy peak    the largest RSS sampled (every 50 ms) while a second 2,000-task workflow of
//                `true` jobs runs to the end with those 200 subscribers following it
// That busy run is also the live fan-out benchmark's busy case: for each job end, its recorded
// finishedAt (the engine's clock at the state change) -> the last subscriber receiving that task's
// success, with the CPU the server and the hub spend per delta delivered.
// Beside each, the server's CPU time for that step (/proc): what a memory saving costs in work
// (a smaller young generation means more garbage collections) shows there.
// Settled figures are the median of a few samples a second apart, so one GC does not decide. Beside
// them, PSS: node's own code is mapped by every node process and counted whole in each one's RSS
// (some 30-40 MB of it), while PSS gives each process its share only.
//
// Settings: BENCH_QUICK=1 takes fewer samples of each settled state; BENCH_TASKS (2000),
// BENCH_SUBSCRIBERS (200); BENCH_TIMELINE=1 prints the busy run's job ends per half second and the
// slowest of each to reach every subscriber. Needs dist/ (npm run build).
import { STEADY_AFTER_MS, fanWorkflow, openSubscriber, startLiveSite, trackJobEnds } from './live-site.mjs';
import { cpuMs, pssMb, rssMb, sampleRss } from './lib/proc.mjs';
import { table, waitUntil } from './lib/stats.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
// The goals' own sizes, in quick runs too (about 35 s here).
const TASKS = Number(process.env.BENCH_TASKS ?? 2000);
const BUSY_TASKS = TASKS;
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200);
/** How long a server is left alone before its idle memory is taken (see above). */
const IDLE_AFTER_MS = 15_000;

/** The median RSS and PSS of a few samples a second apart. */
async function settled(pid, samples = QUICK ? 3 : 5) {
  const rss = [];
  const pss = [];
  for (let i = 0; i < samples; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(rssMb(pid));
    pss.push(pssMb(pid));
  }
  const median = (list) => list.sort((a, b) => a - b)[Math.floor(samples / 2)];
  return { rss: median(rss), pss: median(pss) };
}

const site = await startLiveSite();
try {
  const pid = site.serverPid;
  console.log(`workflow server memory: ${TASKS}-task workflow, ${SUBSCRIBERS} subscribers, busy run of ${BUSY_TASKS} tasks; Node ${process.version}`);
  const cpu = { start: cpuMs(pid) };
  const justStarted = rssMb(pid);
  await new Promise((r) => setTimeout(r, IDLE_AFTER_MS));
  const idle = await settled(pid);

  const beforeLoad = cpuMs(pid);
  await site.loadIdle('big', TASKS);
  cpu.load = cpuMs(pid) - beforeLoad;
  const loaded = await settled(pid);

  const busy = trackJobEnds('busy');
  const onDelta = (delta, arrival, sub) => {
    sub.workflowsSeen.add(delta.workflow);
    busy.onDelta(delta, arrival, sub);
  };
  const subs = [];
  const beforeSubscribing = cpuMs(pid);
  const peakWhileSubscribing = sampleRss(pid);
  while (subs.length < SUBSCRIBERS) {
    const sub = await openSubscriber(site, 'big', onDelta);
    sub.index = subs.length;
    sub.workflowsSeen = new Set();
    subs.push(sub);
  }
  await waitUntil(() => subs.every((s) => s.initialTasks >= TASKS), 300_000, 'every first burst');
  const subscribingPeak = peakWhileSubscribing.stop();
  cpu.subscribing = cpuMs(pid) - beforeSubscribing;
  const withSubscribers = await settled(pid);

  // The same sockets follow the busy workflow too (a second subscription each). This run is also
  // the live fan-out benchmark's busy case (fanout.mjs): one run of 2,000 jobs serves both, since
  // each takes most of a minute, and it is the harder setting for both (the idle workflow and its
  // 200 subscriptions stay loaded beside it).
  // Each opens it before it is played, as a viewer has its page open before pressing Play: a
  // stopped workflow's first burst has the tasks its play starts from, and play sends changes.
  await site.addWorkflow('busy', fanWorkflow(BUSY_TASKS, 'true'));
  for (const s of subs) s.follow('2', 'busy');
  await waitUntil(() => subs.every((s) => s.workflowsSeen.has('busy')), 300_000, 'every first burst of the busy workflow');
  const busyPeak = sampleRss(pid);
  const beforeBusy = cpuMs(pid);
  const hubBeforeBusy = cpuMs(site.hubPid);
  const deltas0 = subs.reduce((n, s) => n + s.deltas, 0);
  const bytes0 = subs.reduce((n, s) => n + s.bytes, 0);
  const busyStarted = performance.now();
  await site.command('play', 'busy');
  // A run slower than the limit (a loaded machine) still reports the peak and the ends so far.
  await waitUntil(() => busy.complete(subs.length) === BUSY_TASKS, 900_000, 'every job end at every subscriber').catch((err) => console.log(err.message));
  const busySeconds = (performance.now() - busyStarted) / 1000;
  const peak = busyPeak.stop();
  cpu.busy = cpuMs(pid) - beforeBusy;
  const deliveries = subs.reduce((n, s) => n + s.deltas, 0) - deltas0;
  const fanout = {
    ...busy.latencies(subs.length),
    serverCpuPerDelivery: cpu.busy / deliveries,
    hubCpuPerDelivery: (cpuMs(site.hubPid) - hubBeforeBusy) / deliveries,
    bytesPerDelivery: (subs.reduce((n, s) => n + s.bytes, 0) - bytes0) / deliveries,
  };
  for (const s of subs) s.ws.close();

  const f = (n) => n.toFixed(0);
  const s = (ms) => (ms / 1000).toFixed(2);
  console.log(table(['state', 'RSS MB', 'PSS MB', 'server CPU s (that step)'], [
    ['just started (no workflows)', f(justStarted), '', `${s(cpu.start)} (start-up)`],
    [`idle (no workflows, ${IDLE_AFTER_MS / 1000} s without requests)`, f(idle.rss), f(idle.pss), ''],
    [`${TASKS}-task workflow loaded`, f(loaded.rss), f(loaded.pss), s(cpu.load)],
    [`${SUBSCRIBERS} subscribers (peak while they connected: ${f(subscribingPeak)})`, f(withSubscribers.rss), f(withSubscribers.pss), s(cpu.subscribing)],
    [`busy run of ${BUSY_TASKS} tasks with them, peak`, f(peak), '', s(cpu.busy)],
  ]));
  console.log(`(VmRSS of the workflow server, pid ${pid}; the hub and this process not counted)`);
  const f1 = (n) => n.toFixed(1);
  const f3 = (n) => n.toFixed(3);
  console.log(`\nbusy run, job end -> last of ${subs.length} subscribers (${fanout.complete}/${BUSY_TASKS} ends, ${(fanout.complete / busySeconds).toFixed(0)} tasks/s): ` +
    `p50 ${f1(fanout.p50)} ms, p99 ${f1(fanout.p99)} ms, max ${f1(fanout.max)} ms; ` +
    `from ${STEADY_AFTER_MS / 1000} s after the first end on: p50 ${f1(fanout.steadyP50)} ms, p99 ${f1(fanout.steadyP99)} ms`);
  console.log(`busy run: ${fanout.bytesPerDelivery.toFixed(0)} bytes per delta; CPU per delta delivered to one subscriber: ` +
    `server ${f3(fanout.serverCpuPerDelivery)} ms (running the jobs included), hub ${f3(fanout.hubCpuPerDelivery)} ms`);
  // Where the whole run's p99 comes from: the first seconds, while the `added` burst goes out.
  if (process.env.BENCH_TIMELINE === '1') {
    console.log('busy run timeline (s after the first end: ends, slowest to reach every subscriber ms):');
    console.log(fanout.timeline.map((t) => `${t.from}: ${t.ends}, ${f1(t.slowest)}`).join('; '));
  }
  console.log(`RESULT ${JSON.stringify({
    memory_just_started_mb: +f(justStarted),
    memory_idle_mb: +f(idle.rss),
    memory_loaded_mb: +f(loaded.rss),
    memory_subscribers_mb: +f(withSubscribers.rss),
    memory_idle_pss_mb: +f(idle.pss),
    memory_loaded_pss_mb: +f(loaded.pss),
    memory_subscribers_pss_mb: +f(withSubscribers.pss),
    memory_subscribing_peak_mb: +f(subscribingPeak),
    memory_busy_peak_mb: +f(peak),
    memory_cpu_start_s: +s(cpu.start),
    memory_cpu_load_s: +s(cpu.load),
    memory_cpu_subscribing_s: +s(cpu.subscribing),
    memory_cpu_busy_s: +s(cpu.busy),
    [`fanout_busy_p50_ms_${SUBSCRIBERS}`]: +f1(fanout.p50),
    [`fanout_busy_p99_ms_${SUBSCRIBERS}`]: +f1(fanout.p99),
    [`fanout_busy_max_ms_${SUBSCRIBERS}`]: +f1(fanout.max),
    [`fanout_busy_steady_p99_ms_${SUBSCRIBERS}`]: +f1(fanout.steadyP99),
    [`fanout_busy_bytes_per_delta_${SUBSCRIBERS}`]: Math.round(fanout.bytesPerDelivery),
    [`fanout_busy_server_cpu_ms_per_delta_${SUBSCRIBERS}`]: +f3(fanout.serverCpuPerDelivery),
    [`fanout_busy_hub_cpu_ms_per_delta_${SUBSCRIBERS}`]: +f3(fanout.hubCpuPerDelivery),
  })}`);
} finally {
  site.stop();
}
process.exit(0);
