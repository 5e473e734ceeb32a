// `npm run bench`: runs each benchmark that exists, one after another (they would disturb each
// other's figures if run together), each in its own process, and prints what each printed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHES = ['authz.mjs', 'scheduler.mjs', 'soak.mjs', 'proxy.mjs', 'slurm.mjs'];

function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: join(HERE, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', (err) => resolve({ code: 1, output: `${output}${err.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, output }));
  });
}

let failed = 0;
for (const name of BENCHES) {
  const file = join(HERE, name);
  if (!existsSync(file)) {
    console.log(`== bench/${name}: not present, skipped\n`);
    continue;
  }
  const started = Date.now();
  const { code, signal, output } = await run(file);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`== bench/${name} (${seconds} s${code === 0 ? '' : `, FAILED: ${signal ?? `exit code ${code}`}`})`);
  console.log(output.trimEnd() + '\n');
  if (code !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
