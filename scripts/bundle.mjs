// Bundles the compiled CLI (dist/cli/main.js, from tsc) into dist/bundle/, which bin/flotilla runs.
//
// Why: a workflow server spent about half of its start-up CPU in Node's module loader (resolving,
// reading and compiling its files one by one, 725 in the whole CLI: measured with --cpu-prof on
// the cold-start benchmark), and Node 20 has no compile cache (module.enableCompileCache is Node 22). Bundled,
// the same code starts in a handful of files: a server's CPU to ready went from 630 to 340 ms and
// `POST …/server` -> first answer from 573 to 334 ms (bench/coldstart.mjs, same machine, same run
// of the day). Dynamic imports stay separate chunks, so that what a server loads on first use
// (express, GraphQL) is still loaded only then.
//
// Our code imports zod as a namespace (`import * as z from 'zod'`), whose members the bundler can
// follow one by one: what is not used stays out, among it zod's 60-odd message locales, which
// `import { z }` kept in and evaluated at every start (a 785 KB chunk down to 225 KB; a server's
// idle memory 2.7 MB less). yaml is required when the first flow file is read
// (src/scheduler/flow.ts), not bundled.
//
// Left outside: better-sqlite3 (a native addon, found through its own package), and pino-pretty
// (optional, only for a terminal). Code bundled from CommonJS calls `require`, which an ES module
// does not have: each chunk makes one with createRequire.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pino-pretty', 'yaml'],
  banner: { js: "import { createRequire as flotillaCreateRequire } from 'node:module'; const require = flotillaCreateRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  // For reading a stack trace from a log: the maps lead back to dist/ (and so to src/).
  sourcemap: 'linked',
  logLevel: 'warning',
});
