// `npm run bench`: runs each benchmark, one after another (they would disturb each other's
// figures if run together), each in its own process, prints what each printed, and ends with
// every goal judged on the figures of this one run.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench } from './lib/run-bench.mjs';
import { describeMachine } from './lib/machine.mjs';
import { formatJudgement, judge } from './lib/goals.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHES = ['authz.mjs', 'proxy.mjs', 'fanout.mjs', 'scheduler.mjs', 'coldstart.mjs', 'memory.mjs', 'soak.mjs', 'slurm.mjs'];

const machine = describeMachine();
const figures = {};
let failed = 0;
for (const name of BENCHES) {
  const file = join(HERE, name);
  if (!existsSync(file)) {
    console.log(`== bench/${name}: not present, skipped\n`);
    continue;
  }
  const run = await runBench(file, { cwd: join(HERE, '..') });
  console.log(`== bench/${name} (${run.seconds.toFixed(1)} s${run.code === 0 ? '' : `, FAILED: ${run.signal ?? `exit code ${run.code}`}`})`);
  console.log(`${run.output}\n`);
  Object.assign(figures, run.result);
  if (run.code !== 0) failed++;
}
console.log(`== goals (${machine.cores} × ${machine.cpu}, Node ${machine.node})\n${formatJudgement(judge(figures))}`);
process.exitCode = failed ? 1 : 0;
