/**
 * Runs once before any test file. Hubs, workflow servers and engines in their own processes run
 * the compiled dist/, so it must match src/: `npm test` builds first; a developer running
 * `npx vitest run some.test.ts` after an edit gets the build here (tsc, then the bundle that
 * bin/flotilla runs). Building once, before the
 * files start, matters: a build inside a test file rewrites dist/ under the processes that other
 * files have running from it. A failed build stops the run instead of testing stale output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..');

/** Source files with no build, or a build older than them. */
function staleSources(): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(REPO, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        const built = join(REPO, 'dist', path.slice('src/'.length).replace(/\.ts$/, '.js'));
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(REPO, path)).mtimeMs) stale.push(path);
      }
    }
  };
  walk('src');
  return stale;
}

/** The bundle bin/flotilla runs (scripts/bundle.mjs), made from dist/. */
const BUNDLE = join(REPO, 'dist', 'bundle', 'main.js');

export default function buildOnce(): void {
  const stale = staleSources();
  if (stale.length > 0) {
    const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    if (tsc.status !== 0) {
      throw new Error(`dist/ is older than ${stale[0]} (and ${stale.length - 1} more), and building it failed:\n${tsc.stdout}${tsc.stderr}`);
    }
  } else if (existsSync(BUNDLE)) return;
  const bundle = spawnSync(process.execPath, [join(REPO, 'scripts', 'bundle.mjs')], { cwd: REPO, encoding: 'utf8' });
  if (bundle.status !== 0) throw new Error(`bundling dist/ into dist/bundle/ failed:\n${bundle.stdout}${bundle.stderr}`);
}
