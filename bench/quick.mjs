// `npm run bench:quick`: the headline figures in under 3 minutes, each benchmark in its own
// process one after another (side by side they would disturb each other), written with the
// machine they ran on to bench/results.json, and judged against the goals in bench/lib/goals.mjs.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench } from './lib/run-bench.mjs';
import { describeMachine } from './lib/machine.mjs';
import { formatJudgement, judge } from './lib/goals.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const BENCHES = ['proxy.mjs', 'fanout.mjs', 'scheduler.mjs', 'coldstart.mjs', 'memory.mjs', 'authz.mjs'];

const machine = describeMachine();
const started = Date.now();
const figures = {};
const failed = [];
for (const name of BENCHES) {
  if (!existsSync(join(HERE, name))) {
    console.log(`== bench/${name}: not present, skipped\n`);
    failed.push(name);
    continue;
  }
  // A limit per benchmark that only a hang reaches: on a 2-core virtual machine where a fork costs
  // several ms the busy run of 2,000 jobs (memory.mjs) takes a minute or more.
  const run = await runBench(join(HERE, name), { cwd: ROOT, env: { BENCH_QUICK: '1' }, timeoutMs: 300_000 });
  console.log(`== bench/${name} (${run.seconds.toFixed(1)} s${run.code === 0 ? '' : `, FAILED: ${run.signal ?? `exit code ${run.code}`}`})`);
  console.log(`${run.output}\n`);
  if (run.code !== 0) failed.push(name);
  Object.assign(figures, run.result);
}

const goals = judge(figures);
const ratios = Object.fromEntries(Object.entries(figures).filter(([k]) => k.includes('_over_')));
const results = {
  ran_at: new Date(started).toISOString(),
  seconds: Math.round((Date.now() - started) / 100) / 10,
  machine,
  command: 'npm run bench:quick',
  ratios,
  figures,
  goals: Object.fromEntries(goals.map((g) => [g.key, { value: g.value ?? null, goal: `${g.at === 'least' ? '>=' : '<='} ${g.goal}`, met: g.met ?? null }])),
  failed,
};
writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`== goals (${machine.cores} × ${machine.cpu}, Node ${machine.node})\n${formatJudgement(goals)}`);
console.log(`\nwrote bench/results.json in ${results.seconds} s`);
process.exitCode = failed.length ? 1 : 0;
