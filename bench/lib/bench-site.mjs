// A real hub on a temporary site for the benchmarks, run in a child process of its own so that
// what the benchmark process spends on its clients is not counted as the hub's or the servers'.
// The child announces itself with one `READY {json}` line; SIGTERM stops its servers, kills what
// they left running and deletes the site.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killProcessesUnder } from './proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * BENCH_CPU_PROF=DIR: the hub child and the workflow servers it starts write V8 CPU profiles
 * (`--cpu-prof`) into DIR when they stop; run the benchmark itself with `node --cpu-prof
 * --cpu-prof-dir=DIR` to have all three. DIR is made writable by anyone: a server may run under
 * an account of its own.
 */
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PROFILE_FLAGS = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];

/** Tells the parent (startChild/whenReady) that this child listens, with what it needs to know. */
export function announceReady(fields) {
  process.stdout.write(`READY ${JSON.stringify(fields)}\n`);
}

/** Resolves with the fields of a child's READY line; rejects if it exits first. */
export function whenReady(child) {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/READY (\{.*\})\n/);
      if (m) resolve(JSON.parse(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready: ${seen}`)));
  });
}

const children = [];
/** Stops every child startChild started (also done when this process exits). */
export function stopChildren() {
  for (const child of children.splice(0)) child.kill('SIGTERM');
}
process.on('exit', stopChildren);

/** Spawns `command args` with its stdout piped (for READY) and stops it when this process exits. */
export function startChild(command, args, env = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  return child;
}

/** Runs `node script ...args` (a script that calls serveBenchSite) and resolves once it is ready. */
export async function startBenchSite(script, args = []) {
  if (PROFILE_DIR) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    chmodSync(PROFILE_DIR, 0o1777);
  }
  const child = startChild(process.execPath, [...PROFILE_FLAGS, script, ...args]);
  const info = await whenReady(child);
  return { ...info, child, hubPid: child.pid, url: `http://127.0.0.1:${info.port}` };
}

/**
 * In the child: a site on a temporary data folder. `users` are created with random passwords
 * (returned in `passwords`), `workflows` is { owner: { name: flow.yaml text } }, `workflowServer`
 * the site file's WorkflowServer section, `start` the owners whose servers start before READY,
 * `tokens` the users who get an API token. Announces { port, dir, passwords, tokens, serverPids }.
 */
export async function serveBenchSite({ users, workflows = {}, workflowServer = {}, start = [], tokens = [] }) {
  const { HtpasswdFile } = await import(join(ROOT, 'dist/htpasswd/index.js'));
  const { parseSiteConfig } = await import(join(ROOT, 'dist/config/index.js'));
  const { createHub } = await import(join(ROOT, 'dist/hub/index.js'));
  const { silentLogger } = await import(join(ROOT, 'dist/util/logger.js'));
  const { flotillaServerArgv } = await import(join(ROOT, 'dist/spawner/index.js'));
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
  const htpasswd = new HtpasswdFile(join(dir, 'htpasswd'));
  const passwords = {};
  for (const user of users) {
    passwords[user] = randomBytes(12).toString('hex');
    await htpasswd.add(user, passwords[user], 4);
  }
  for (const [owner, flows] of Object.entries(workflows)) {
    for (const [name, yaml] of Object.entries(flows)) {
      mkdirSync(join(dir, 'users', owner, 'workflows', name), { recursive: true });
      writeFileSync(join(dir, 'users', owner, 'workflows', name, 'flow.yaml'), yaml);
    }
  }
  const file = join(dir, 'jupyter_config.json');
  const raw = {
    JupyterHub: {
      data_dir: dir,
      authenticator: { htpasswd_file: join(dir, 'htpasswd') },
      load_roles: [{ name: 'user', scopes: ['self', 'access:servers'] }],
    },
    WorkflowServer: workflowServer,
  };
  writeFileSync(file, JSON.stringify(raw));
  const hub = createHub(parseSiteConfig(raw, file, dir, file), {
    logger: silentLogger(),
    ...(PROFILE_DIR ? { serverArgv: (launch) => [...PROFILE_FLAGS, ...flotillaServerArgv(launch)] } : {}),
  });
  const address = await hub.listen(0, '127.0.0.1');
  const spawner = hub.context.servers.spawner;
  for (const owner of start) await spawner.start(owner);
  process.on('SIGTERM', async () => {
    for (const { owner } of spawner.list()) await hub.context.servers.stop(owner).catch(() => {});
    await hub.close();
    killProcessesUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  announceReady({
    port: address.port,
    dir,
    passwords,
    tokens: Object.fromEntries(tokens.map((user) => [user, hub.context.tokens.create(user, { note: 'bench' }).token])),
    serverPids: Object.fromEntries(start.map((owner) => [owner, spawner.info(owner).pid])),
  });
}
