// A real hub on a temporary site with alice's real workflow server behind it, for the benchmarks
// of live subscriptions (fanout.mjs) and of the workflow server's memory (memory.mjs). The hub runs
// in a child process of its own (`node bench/live-site.mjs hub`), so that what the benchmark
// process spends on its clients is not counted as the hub's or the server's.
//
// alice owns the workflows and holds a token for mutations; bob reads them (site default READ)
// through his token, as a support person's script would. Subscribers are graphql-transport-ws
// clients (the `ws` package) opened through the hub.
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(HERE, '..', '..');
export const OWNER = 'alice';
const READER = 'bob';

/** The page's own selection (static/js/workflow.js): what a browser on a workflow asks for. */
const WORKFLOW_FIELDS = `id name description status lastRun { outcome at failed summary } cycles runaheadLimit holdPoint verbosity
  graphWindowExtent lastActivity error { message file line }
  stateCounts { waiting preparing submitted running succeeded failed submitFailed expired } edges { from to }
  broadcasts { id cyclePoint namespace settings { env script platform directives } seq setBy setAt }`;
const TASK_FIELDS = `id cycle name state held queued submitNum startedAt finishedAt exitCode pid jobId platform directives xtrigger
  xtriggerSatisfied outputs messages { at severity text by } script env`;
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

/** The hub child: a temporary site, alice's server started, tokens made. Prints one READY line. */
async function runHub() {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { HtpasswdFile } = await import(join(ROOT, 'dist/htpasswd/index.js'));
  const { parseSiteConfig } = await import(join(ROOT, 'dist/config/index.js'));
  const { createHub } = await import(join(ROOT, 'dist/hub/index.js'));
  const { serverProcessesOn } = await import(join(ROOT, 'dist/spawner/server-process.js'));
  const { silentLogger } = await import(join(ROOT, 'dist/util/logger.js'));
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-live-'));
  const htpasswd = new HtpasswdFile(join(dir, 'htpasswd'));
  for (const user of [OWNER, READER]) await htpasswd.add(user, randomBytes(12).toString('hex'), 4);
  const raw = {
    JupyterHub: {
      data_dir: dir,
      authenticator: { htpasswd_file: join(dir, 'htpasswd') },
      load_roles: [{ name: 'user', scopes: ['self', 'access:servers'] }],
    },
    // Room for every subscriber of the benchmark on one user's sockets.
    WorkflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } }, limits: { sockets_per_user: 1000 } },
  };
  writeFileSync(join(dir, 'jupyter_config.json'), JSON.stringify(raw));
  const config = parseSiteConfig(raw, join(dir, 'jupyter_config.json'), dir, join(dir, 'jupyter_config.json'));
  const hub = createHub(config, { logger: silentLogger() });
  const address = await hub.listen(0, '127.0.0.1');
  await hub.context.servers.spawner.start(OWNER);
  const [server] = serverProcessesOn(dir).filter((p) => p.owner === OWNER);
  const stop = async () => {
    await hub.context.servers.stop(OWNER).catch(() => {});
    await hub.close();
    // Jobs outlive their server by design (the next server finds them): the bench's must not.
    killProcessesUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  const ready = {
    port: address.port,
    ownerToken: hub.context.tokens.create(OWNER, { note: 'bench' }).token,
    readerToken: hub.context.tokens.create(READER, { note: 'bench' }).token,
    serverPid: server.pid,
    ownerDir: join(dir, 'users', OWNER),
  };
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
}

/** Starts the hub child and resolves when alice's server is up. */
export async function startLiveSite() {
  const child = spawn(process.execPath, [HERE, 'hub'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () => child.kill('SIGTERM');
  process.on('exit', stop);
  const info = await new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/READY (\{.*\})\n/);
      if (m) resolve(JSON.parse(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}) before it was ready: ${seen}`)));
  });
  const url = `http://127.0.0.1:${info.port}`;
  return {
    ...info,
    url,
    hubPid: child.pid,
    /** A GraphQL request over HTTP through the hub, as alice (the owner). */
    async graphql(query, variables = {}) {
      const res = await fetch(`${url}/user/${OWNER}/graphql`, {
        method: 'POST',
        headers: { authorization: `token ${info.ownerToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = await res.json();
      if (!res.ok || body.errors) throw new Error(`graphql ${res.status}: ${JSON.stringify(body.errors ?? body)}`);
      return body.data;
    },
    /** Writes a workflow folder the way its owner would (their account owns it) and waits until the server lists it. */
    async addWorkflow(name, yaml) {
      const workflows = join(info.ownerDir, 'workflows');
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
    stop,
  };
}

export async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A graphql-transport-ws client through the hub as bob, subscribed to `deltas` of one workflow.
 * `onDelta(delta, receivedAt)` sees each delta; `tasks` is the latest state of every task seen.
 */
export async function openSubscriber(site, workflow, onDelta) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`${site.url.replace('http', 'ws')}/user/${OWNER}/subscriptions`, 'graphql-transport-ws', {
    headers: { authorization: `token ${site.readerToken}` },
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
    const receivedAt = performance.now();
    sub.bytes += data.length;
    const message = JSON.parse(data.toString());
    if (message.type !== 'next') return;
    const delta = message.payload.data?.deltas;
    if (!delta) return;
    sub.deltas++;
    sub.initialTasks += delta.added?.tasks?.length ?? 0;
    onDelta(delta, receivedAt, sub);
  });
  sub.follow('1', workflow);
  return sub;
}

/** Resident memory of a process now, in MB (VmRSS). */
export function rssMb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU time a process has used so far (user + system), in ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, counted from the state (field 3) here.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Samples a process's RSS every `everyMs` until stopped; resolves to the largest seen. */
export function sampleRss(pid, everyMs = 50) {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process is gone; the peak so far stands
    }
  }, everyMs);
  return { stop: () => (clearInterval(timer), peak) };
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

if (process.argv[2] === 'hub') await runHub();

/** SIGKILL to every process (and its group) whose command line or working folder is under `dir`. */
function killProcessesUnder(dir) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let under = false;
    try {
      under = readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir) || readlinkSync(`/proc/${entry}/cwd`).startsWith(dir);
    } catch {
      continue;
    }
    if (!under) continue;
    for (const target of [-Number(entry), Number(entry)]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
  }
}
