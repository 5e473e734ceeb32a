import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { assertValidUserName, isValidUserName } from '../config/names.js';
import { newServerSecret } from '../identity/proof.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { checkHealth, putMembership, type ControlTarget } from './control-client.js';
import { sharedIsolation, type Isolation } from './isolation.js';
import { freePort, isAlive, launchServer, logTail, serverLogPath, signalGroup } from './server-process.js';
import { ServerStore, type ServerRecord } from './server-store.js';

export type ServerStatus = 'stopped' | 'starting' | 'running' | 'stopping';

export interface ServerInfo {
  owner: string;
  pid: number;
  port: number;
  /** Origin of the server on loopback, e.g. `http://127.0.0.1:41234`; paths are appended unchanged. */
  url: string;
  secret: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Epoch milliseconds of the last proxied request or WebSocket event. */
  lastActivity: number;
}

/** What `list()` shows: everything but the secret, which must never reach a page or an API. */
export type ServerSummary = Omit<ServerInfo, 'secret'> & { status: ServerStatus };

export interface ServerLaunch {
  owner: string;
  port: number;
  dataDir: string;
  siteConfigFile: string | null;
  hubOrigin: string;
}

export interface SpawnerOptions {
  db: Database;
  dataDir: string;
  siteConfigFile?: string | null;
  hubOrigin: string;
  startTimeoutMs: number;
  httpTimeoutMs: number;
  pollIntervalMs: number;
  stopGraceMs: number;
  /** 0 turns culling off. */
  idleTimeoutMs: number;
  logger?: Logger;
  /** Arguments given to `node` to run one server; by default `bin/flotilla server …`. */
  serverArgv?: (launch: ServerLaunch) => string[];
  /** Which account each owner's server runs as; the hub's own (`shared`) unless given. */
  isolation?: Isolation;
}

const FLOTILLA_BIN = fileURLToPath(new URL('../../bin/flotilla', import.meta.url));

function flotillaServerArgv(l: ServerLaunch): string[] {
  return [
    FLOTILLA_BIN,
    'server',
    '--owner', l.owner,
    '--data-dir', l.dataDir,
    ...(l.siteConfigFile ? ['--config', l.siteConfigFile] : []),
    '--port', String(l.port),
    '--host', '127.0.0.1',
    '--hub-origin', l.hubOrigin,
  ];
}

/** Ports picked by `freePort()` can be taken by someone else before the server binds them. */
const MAX_PORT_ATTEMPTS = 3;
/** An adopted server (no exit event) is stopped after this many failed health polls in a row. */
const MAX_HEALTH_FAILURES = 3;
/** After SIGKILL a process dies at once; this only bounds the wait if the kernel is slow. */
const KILL_WAIT_MS = 10_000;

interface Entry {
  status: ServerStatus;
  /** Set once the server answered its health check; kept while stopping. */
  record?: ServerRecord;
  /** Only for servers this hub spawned; adopted ones are watched by polling. */
  child?: ChildProcess;
  starting?: Promise<ServerInfo>;
  stopping?: Promise<void>;
  openSockets: number;
  healthFailures: number;
  activityDirty: boolean;
  /** Membership pushes to one server go one after another, each sending the latest map. */
  pushing: Promise<void>;
}

type ReadyOutcome =
  | { kind: 'ready' }
  | { kind: 'exited'; how: string }
  | { kind: 'timeout'; reason: string };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/**
 * One workflow-server process per owner: starts them on demand, notices when they die, stops
 * them (and idle ones, when culling is on), and adopts those left running by a previous hub.
 */
export class Spawner extends EventEmitter<{ change: [owner: string, status: ServerStatus] }> {
  private readonly store: ServerStore;
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly serverArgv: (launch: ServerLaunch) => string[];
  private readonly poller: NodeJS.Timeout;
  private polling = false;
  private closed = false;
  private groups: Record<string, string[]> | undefined;
  private readonly isolation: Isolation;

  constructor(private readonly opts: SpawnerOptions) {
    super();
    this.store = new ServerStore(opts.db);
    this.log = opts.logger ?? silentLogger();
    this.serverArgv = opts.serverArgv ?? flotillaServerArgv;
    this.isolation = opts.isolation ?? sharedIsolation;
    this.poller = setInterval(() => void this.poll(), Math.max(50, opts.pollIntervalMs)).unref();
  }

  /** At hub start: keeps recorded servers whose pid lives and whose health answers as the right
   * owner and pid (signed with the stored secret); forgets the rest. */
  async adoptAll(): Promise<void> {
    await Promise.all(
      this.store.all().map(async (r) => {
        const known = this.entries.get(r.owner);
        if (known && known.status !== 'stopped') return;
        const health = isValidUserName(r.owner) && isAlive(r.pid)
          ? await checkHealth(r, this.opts.httpTimeoutMs, r.pid)
          : { ok: false as const, reason: 'process is gone' };
        if (this.closed) return;
        if (!health.ok) {
          this.store.remove(r.owner, r.pid);
          this.log.info({ owner: r.owner, pid: r.pid, reason: health.reason }, 'forgot a recorded server');
          return;
        }
        const wrongAccount = await this.isolation.wrongAccount(r.owner, r.pid);
        if (this.closed) return;
        if (wrongAccount) {
          // It answered with its secret, so it is ours: it must not go on running as the wrong account.
          this.log.warn({ owner: r.owner, pid: r.pid, reason: wrongAccount }, 'stopping a recorded server that runs as the wrong account');
          await this.terminate(r.pid, undefined);
          this.store.remove(r.owner, r.pid);
          return;
        }
        const e = this.entry(r.owner);
        e.record = { ...r };
        e.healthFailures = 0;
        this.setStatus(r.owner, e, 'running');
        this.log.info({ owner: r.owner, pid: r.pid, port: r.port }, 'adopted a running server');
        if (this.groups) void this.queueMembership(r.owner, e);
      }),
    );
  }

  start(owner: string): Promise<ServerInfo> {
    try {
      assertValidUserName(owner, 'owner name');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new Error('the spawner is closed'));
    const e = this.entry(owner);
    if (e.status === 'running' && e.record) return Promise.resolve(this.infoOf(e.record));
    if (e.starting) return e.starting;
    const starting = (async () => {
      if (e.stopping) await e.stopping;
      return this.launch(owner, e);
    })();
    e.starting = starting;
    starting.then(
      () => void (e.starting === starting && (e.starting = undefined)),
      () => void (e.starting === starting && (e.starting = undefined)),
    );
    return starting;
  }

  async stop(owner: string): Promise<void> {
    const e = this.entries.get(owner);
    if (!e) return;
    if (e.starting) await e.starting.catch(() => undefined);
    if (e.stopping) return e.stopping;
    const record = e.record;
    if (e.status !== 'running' || !record) return;
    const stopping = (async () => {
      this.setStatus(owner, e, 'stopping');
      await this.terminate(record.pid, e.child);
      this.markStopped(owner, e, record, 'stopped');
    })();
    e.stopping = stopping;
    try {
      await stopping;
    } finally {
      if (e.stopping === stopping) e.stopping = undefined;
    }
  }

  status(owner: string): ServerStatus {
    return this.entries.get(owner)?.status ?? 'stopped';
  }

  /** Where and how to reach a running server; undefined unless it is running. */
  info(owner: string): ServerInfo | undefined {
    const e = this.entries.get(owner);
    return e?.status === 'running' && e.record ? this.infoOf(e.record) : undefined;
  }

  /** Every server that is not stopped, without secrets. */
  list(): ServerSummary[] {
    const out: ServerSummary[] = [];
    for (const [owner, e] of this.entries) {
      if (e.status === 'stopped' || !e.record) continue;
      const { secret: _secret, ...rest } = this.infoOf(e.record);
      out.push({ ...rest, owner, status: e.status });
    }
    return out.sort((a, b) => a.owner.localeCompare(b.owner));
  }

  /** Records activity (a proxied request). Memory only: written to the database by the poll. */
  touch(owner: string): void {
    const e = this.entries.get(owner);
    if (!e?.record) return;
    e.record.lastActivity = Date.now();
    e.activityDirty = true;
  }

  /** The proxy reports WebSockets it holds open: a server with any open is never idle. */
  wsOpened(owner: string): void {
    this.entry(owner).openSockets += 1;
    this.touch(owner);
  }

  wsClosed(owner: string): void {
    const e = this.entry(owner);
    e.openSockets = Math.max(0, e.openSockets - 1);
    this.touch(owner);
  }

  /** Sends the hub's full group membership to every running server, and remembers it for
   * servers that start later. Resolves when every send has finished (failures are logged). */
  async pushMembership(groups: Record<string, string[]>): Promise<void> {
    this.groups = Object.fromEntries(Object.entries(groups).map(([g, users]) => [g, [...users]]));
    const sends: Promise<void>[] = [];
    for (const [owner, e] of this.entries) {
      if (e.record && (e.status === 'running' || e.status === 'starting')) sends.push(this.queueMembership(owner, e));
    }
    await Promise.all(sends);
  }

  /** Stops timers and writes pending activity; never kills servers (they outlive the hub). */
  close(): void {
    if (this.closed) return;
    clearInterval(this.poller);
    this.flushActivity();
    this.closed = true;
  }

  private entry(owner: string): Entry {
    let e = this.entries.get(owner);
    if (!e) {
      e = { status: 'stopped', openSockets: 0, healthFailures: 0, activityDirty: false, pushing: Promise.resolve() };
      this.entries.set(owner, e);
    }
    return e;
  }

  private infoOf(r: ServerRecord): ServerInfo {
    return { ...r, url: `http://127.0.0.1:${r.port}` };
  }

  private setStatus(owner: string, e: Entry, status: ServerStatus): void {
    if (e.status === status) return;
    e.status = status;
    this.emit('change', owner, status);
  }

  private async launch(owner: string, e: Entry): Promise<ServerInfo> {
    this.setStatus(owner, e, 'starting');
    const deadline = Date.now() + this.opts.startTimeoutMs;
    const logPath = serverLogPath(this.opts.dataDir, owner);
    try {
      const account = await this.isolation.prepareOwner(owner);
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const secret = newServerSecret();
        const launched = launchServer({
          dataDir: this.opts.dataDir,
          owner,
          secret,
          ...(account ? { account } : {}),
          argv: this.serverArgv({
            owner,
            port,
            dataDir: this.opts.dataDir,
            siteConfigFile: this.opts.siteConfigFile ?? null,
            hubOrigin: this.opts.hubOrigin,
          }),
        });
        const { child, pid } = launched;
        child.on('error', (err) => this.log.warn({ owner, pid, err: err.message }, 'workflow server process error'));
        this.log.info({ owner, pid, port, attempt }, 'starting workflow server');
        const outcome = await this.waitReady({ owner, port, secret }, child, pid, deadline);
        if (outcome.kind === 'ready') {
          const now = Date.now();
          const record: ServerRecord = { owner, pid, port, secret, startedAt: now, lastActivity: now };
          this.store.save(record);
          e.record = record;
          e.child = child;
          e.healthFailures = 0;
          child.once('exit', (code, signal) => this.onExit(owner, e, pid, code, signal));
          if (this.groups) await this.queueMembership(owner, e);
          // It may have died during the push; it must not be handed out as running.
          if (e.record !== record) throw new Error(`the workflow server for "${owner}" exited during start-up; see ${logPath}`);
          this.setStatus(owner, e, 'running');
          this.log.info({ owner, pid, port }, 'workflow server is ready');
          return this.infoOf(record);
        }
        const tail = logTail(logPath, launched.logOffset);
        if (outcome.kind === 'exited') {
          if (/EADDRINUSE/.test(tail) && attempt < MAX_PORT_ATTEMPTS && Date.now() < deadline) {
            this.log.warn({ owner, port }, 'port was taken before the server bound it; trying another');
            continue;
          }
          throw new Error(
            `the workflow server for "${owner}" exited during start-up (${outcome.how}); last lines of ${logPath}:\n${tail}`,
          );
        }
        await this.terminate(pid, child);
        throw new Error(
          `the workflow server for "${owner}" did not answer its health check within ` +
            `${Math.round(this.opts.startTimeoutMs / 1000)} s (${outcome.reason}) and was stopped; ` +
            `last lines of ${logPath}:\n${tail}`,
        );
      }
    } catch (err) {
      e.record = undefined;
      e.child = undefined;
      this.setStatus(owner, e, 'stopped');
      this.log.warn({ owner, err: (err as Error).message }, 'workflow server failed to start');
      throw err;
    }
  }

  /** Polls health with backoff until it answers, the process exits, or the deadline passes. */
  private waitReady(target: ControlTarget, child: ChildProcess, pid: number, deadline: number): Promise<ReadyOutcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: ReadyOutcome) => {
        if (done) return;
        done = true;
        child.off('exit', onExit);
        child.off('error', onError);
        resolve(o);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish({ kind: 'exited', how: signal ? `killed by ${signal}` : `exit code ${code}` });
      const onError = (err: Error) => finish({ kind: 'exited', how: err.message });
      child.once('exit', onExit);
      child.once('error', onError);
      void (async () => {
        let delay = 50;
        let reason = 'no answer yet';
        while (!done && Date.now() < deadline) {
          const budget = Math.max(1, Math.min(this.opts.httpTimeoutMs, deadline - Date.now()));
          const health = await checkHealth(target, budget, pid);
          if (done) return;
          if (health.ok) return finish({ kind: 'ready' });
          // A last attempt cut short by the deadline says less than an answer the server gave.
          const clipped = budget < this.opts.httpTimeoutMs && reason !== 'no answer yet';
          if (!clipped) reason = health.reason;
          await sleep(Math.min(delay, deadline - Date.now()));
          delay = Math.min(delay * 2, 1000);
        }
        finish({ kind: 'timeout', reason });
      })();
    });
  }

  private onExit(owner: string, e: Entry, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed || e.record?.pid !== pid || (e.status !== 'running' && e.status !== 'starting')) return;
    this.log.warn({ owner, pid, code, signal }, 'workflow server exited');
    this.markStopped(owner, e, e.record, 'exited');
  }

  private markStopped(owner: string, e: Entry, record: ServerRecord, why: string): void {
    if (e.record !== record) return;
    this.store.remove(owner, record.pid);
    e.record = undefined;
    e.child = undefined;
    e.activityDirty = false;
    this.log.info({ owner, pid: record.pid, why }, 'workflow server is stopped');
    this.setStatus(owner, e, 'stopped');
  }

  /** SIGTERM to the process group, SIGKILL once the grace period is over. */
  private async terminate(pid: number, child: ChildProcess | undefined): Promise<void> {
    signalGroup(pid, 'SIGTERM');
    if (await this.waitGone(pid, child, this.opts.stopGraceMs)) return;
    this.log.warn({ pid }, 'workflow server ignored SIGTERM; sending SIGKILL');
    signalGroup(pid, 'SIGKILL');
    if (!(await this.waitGone(pid, child, KILL_WAIT_MS))) this.log.error({ pid }, 'workflow server survived SIGKILL');
  }

  private async waitGone(pid: number, child: ChildProcess | undefined, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    const gone = () => (child ? child.exitCode !== null || child.signalCode !== null : !isAlive(pid));
    while (!gone()) {
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(50, deadline - Date.now()));
    }
    return true;
  }

  private queueMembership(owner: string, e: Entry): Promise<void> {
    e.pushing = e.pushing.then(async () => {
      const record = e.record;
      if (!record || !this.groups || this.closed) return;
      try {
        await putMembership(record, this.groups, this.opts.httpTimeoutMs);
      } catch (err) {
        this.log.warn({ owner, err: (err as Error).message }, 'could not push group membership');
      }
    });
    return e.pushing;
  }

  /** Notices dead servers, health-checks adopted ones, culls idle ones, saves activity. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const now = Date.now();
      await Promise.all(
        [...this.entries].map(async ([owner, e]) => {
          const record = e.record;
          if (e.status !== 'running' || !record) return;
          if (!isAlive(record.pid)) return this.markStopped(owner, e, record, 'process is gone');
          if (!e.child) {
            const health = await checkHealth(record, this.opts.httpTimeoutMs, record.pid);
            if (this.closed) return;
            e.healthFailures = health.ok ? 0 : e.healthFailures + 1;
            if (e.healthFailures >= MAX_HEALTH_FAILURES) {
              this.log.warn({ owner, pid: record.pid }, 'adopted server stopped answering its health check');
              return this.stopInBackground(owner);
            }
          }
          const idle = now - record.lastActivity;
          if (this.opts.idleTimeoutMs > 0 && e.openSockets === 0 && idle >= this.opts.idleTimeoutMs) {
            this.log.info({ owner, idleMs: idle }, 'stopping idle workflow server');
            return this.stopInBackground(owner);
          }
        }),
      );
      if (!this.closed) this.flushActivity();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'server poll failed');
    } finally {
      this.polling = false;
    }
  }

  /** The poll must not wait for a stop's grace period before looking at the other servers. */
  private stopInBackground(owner: string): void {
    this.stop(owner).catch((err: Error) => this.log.error({ owner, err: err.message }, 'could not stop server'));
  }

  private flushActivity(): void {
    const dirty: { owner: string; pid: number; lastActivity: number }[] = [];
    for (const [owner, e] of this.entries) {
      if (!e.activityDirty || !e.record) continue;
      e.activityDirty = false;
      dirty.push({ owner, pid: e.record.pid, lastActivity: e.record.lastActivity });
    }
    if (dirty.length) this.store.saveActivity(dirty);
  }
}
