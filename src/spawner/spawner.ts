import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { assertValidUserName, isValidUserName } from '../config/names.js';
import { parseServerReport, type AdoptedMessage, type Membership, type ServerReport, type SiteSettings } from '../identity/launch.js';
import { newServerSecret } from '../identity/proof.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { checkHealth, putMembership, putSite } from './control-client.js';
import { sharedIsolation, type Isolation } from './isolation.js';
import { isAlive, launchServer, logTail, serverLogPath, serverProcessesOf, signalGroup } from './server-process.js';
import { ServerStore, type ServerRecord, type StoredServer } from './server-store.js';

export type ServerStatus = 'stopped' | 'starting' | 'running' | 'stopping';

/**
 * How far a start has come: recorded and asked for, the process launched (loading its code,
 * opening its engine), listening (it said so over the start-up channel; the hub checks it answers).
 */
export type StartStep = 'requested' | 'launched' | 'listening';

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
  dataDir: string;
  hubOrigin: string;
}

export interface SpawnerOptions {
  db: Database;
  dataDir: string;
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
  /** The site settings servers start with, until pushSite gives newer ones. */
  site?: SiteSettings;
}

const FLOTILLA_BIN = fileURLToPath(new URL('../../bin/flotilla', import.meta.url));

/**
 * V8's young generation grows to two 16 MB semi-spaces under load and keeps them, busy or idle: a
 * fifth of a loaded server's memory. Capped at 2 MB each, a server holds about 20 MB less with a
 * workflow loaded and 20 MB less at its busy peak (bench/memory.mjs, quick run), for more, smaller
 * scavenges costing a little more in all: 241 ms of garbage collection over that run against
 * 211 ms (capped at 1 MB: 371 ms, for 2 MB more saved), and 0.21 ms of server CPU per delta
 * delivered in bench/fanout.mjs's busy run against 0.19.
 */
const SERVER_NODE_FLAGS = ['--max-semi-space-size=2'];

export function flotillaServerArgv(l: ServerLaunch): string[] {
  return [...SERVER_NODE_FLAGS, FLOTILLA_BIN, 'server', '--owner', l.owner, '--data-dir', l.dataDir, '--port', '0', '--host', '127.0.0.1', '--hub-origin', l.hubOrigin];
}

/** An adopted server (no exit event) is stopped after this many failed health polls in a row. */
const MAX_HEALTH_FAILURES = 3;
/** After SIGKILL a process dies at once; this only bounds the wait if the kernel is slow. */
const KILL_WAIT_MS = 10_000;

/**
 * Where one owner's server is in its life. Each state carries exactly what is true in it, so
 * that no code has to guess from a status and a set of optional fields.
 */
type Lifecycle =
  | { state: 'stopped' }
  /** pageVisit: someone opening one of the server's pages waits for it (the server then loads its pages at once). */
  | { state: 'starting'; ready: Promise<ServerInfo>; step: StartStep; pageVisit: boolean }
  | { state: 'running'; record: ServerRecord; child: ChildProcess | undefined; healthFailures: number }
  | { state: 'stopping'; record: ServerRecord; done: Promise<void> };

interface Entry {
  life: Lifecycle;
  openSockets: number;
  activityDirty: boolean;
  /** Pushes to one server go one after another; each brings it up to the latest settings. */
  pushing: Promise<void>;
  /** What this server was last given, compared by identity with the spawner's latest. */
  groupsSent: Membership | undefined;
  siteSent: SiteSettings | undefined;
}

type StartOutcome =
  | { kind: 'listening'; port: number; pid: number }
  | { kind: 'failed'; message: string }
  | { kind: 'exited'; how: string }
  | { kind: 'timeout' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** The settings servers get when the hub has given none: no site_authorization, so no sharing. */
const NO_SITE_SETTINGS: SiteSettings = { workflowServer: {} };

/**
 * One workflow-server process per owner: starts them on demand, notices when they die, stops
 * them (and idle ones, when culling is on), and adopts those left running by a previous hub.
 *
 * A start is recorded in the database before the process exists, and the server itself exits
 * if the hub dies before recording it as running (identity/launch.ts), so a hub killed at any
 * instant leaves either an adoptable server or none, never an unknown one.
 */
export class Spawner extends EventEmitter<{ change: [owner: string, status: ServerStatus]; step: [owner: string, step: StartStep] }> {
  private readonly store: ServerStore;
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly serverArgv: (launch: ServerLaunch) => string[];
  private readonly poller: NodeJS.Timeout;
  private readonly isolation: Isolation;
  private polling = false;
  private closed = false;
  private groups: Membership | undefined;
  /** The hub's account names, sent along with each membership. */
  private accounts: string[] | undefined;
  private site: SiteSettings;

  constructor(private readonly opts: SpawnerOptions) {
    super();
    this.store = new ServerStore(opts.db);
    this.log = opts.logger ?? silentLogger();
    this.serverArgv = opts.serverArgv ?? flotillaServerArgv;
    this.isolation = opts.isolation ?? sharedIsolation;
    this.site = opts.site ?? NO_SITE_SETTINGS;
    this.poller = setInterval(() => void this.poll(), Math.max(50, opts.pollIntervalMs)).unref();
  }

  get isolationMode(): Isolation['mode'] {
    return this.isolation.mode;
  }

  /**
   * At hub start: keeps recorded servers whose pid lives and whose health answers as the right
   * owner and pid (signed with the stored secret); forgets the rest. Servers a previous hub was
   * still starting are stopped: they were never handed out, and may be starting an engine.
   */
  async adoptAll(): Promise<void> {
    await Promise.all(
      this.store.all().map(async (r) => {
        if (this.entry(r.owner).life.state !== 'stopped') return;
        if (r.state === 'starting') return this.stopHalfStarted(r);
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
        const { state: _state, ...record } = r;
        const e = this.entry(r.owner);
        e.groupsSent = undefined;
        e.siteSent = undefined;
        this.enter(r.owner, e, { state: 'running', record, child: undefined, healthFailures: 0 });
        this.log.info({ owner: r.owner, pid: r.pid, port: r.port }, 'adopted a running server');
        void this.sync(r.owner, e);
      }),
    );
  }

  /** Starts the server, or joins the start under way; `pageVisit`: for someone opening one of its pages. */
  start(owner: string, { pageVisit = false }: { pageVisit?: boolean } = {}): Promise<ServerInfo> {
    try {
      assertValidUserName(owner, 'owner name');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new Error('the spawner is closed'));
    const e = this.entry(owner);
    const life = e.life;
    switch (life.state) {
      case 'running':
        return Promise.resolve(this.infoOf(life.record));
      case 'starting':
        life.pageVisit ||= pageVisit;
        return life.ready;
      case 'stopping':
        return life.done.then(() => this.start(owner, { pageVisit }));
      case 'stopped': {
        // The launch begins only once the state says so, so that every caller from now on joins it.
        const ready = Promise.resolve().then(() => this.launch(owner, e));
        this.enter(owner, e, { state: 'starting', ready, step: 'requested', pageVisit });
        return ready;
      }
    }
  }

  async stop(owner: string): Promise<void> {
    const e = this.entries.get(owner);
    if (!e) return;
    const life = e.life;
    switch (life.state) {
      case 'stopped':
        return;
      case 'starting':
        await life.ready.catch(() => undefined);
        return this.stop(owner);
      case 'stopping':
        return life.done;
      case 'running': {
        const record = life.record;
        const done = (async () => {
          await this.terminate(record.pid, life.child);
          this.markStopped(owner, e, record, 'stopped');
        })();
        this.enter(owner, e, { state: 'stopping', record, done });
        return done;
      }
    }
  }

  status(owner: string): ServerStatus {
    return this.entries.get(owner)?.life.state ?? 'stopped';
  }

  /** How far the start under way has come; undefined unless the server is starting. */
  startStep(owner: string): StartStep | undefined {
    const life = this.entries.get(owner)?.life;
    return life?.state === 'starting' ? life.step : undefined;
  }

  /** Where and how to reach a running server; undefined unless it is running. */
  info(owner: string): ServerInfo | undefined {
    const life = this.entries.get(owner)?.life;
    return life?.state === 'running' ? this.infoOf(life.record) : undefined;
  }

  /** Every server that is running or stopping, without secrets. */
  list(): ServerSummary[] {
    const out: ServerSummary[] = [];
    for (const [owner, e] of this.entries) {
      const life = e.life;
      if (life.state !== 'running' && life.state !== 'stopping') continue;
      const { secret: _secret, ...rest } = this.infoOf(life.record);
      out.push({ ...rest, owner, status: life.state });
    }
    return out.sort((a, b) => a.owner.localeCompare(b.owner));
  }

  /**
   * Records activity at `at` (a proxied request: now; one reported through the API: its time),
   * never moving it back. Memory only: written to the database by the poll.
   */
  touch(owner: string, at = Date.now()): void {
    const e = this.entries.get(owner);
    if (e?.life.state !== 'running' || at <= e.life.record.lastActivity) return;
    e.life.record.lastActivity = at;
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
  async pushMembership(groups: Membership, accounts?: readonly string[]): Promise<void> {
    this.groups = Object.fromEntries(Object.entries(groups).map(([g, users]) => [g, [...users]]));
    if (accounts !== undefined) this.accounts = [...accounts];
    await this.syncAll();
  }

  /** Sends new site settings (the site file changed) to every running server, and remembers
   * them for servers that start later. */
  async pushSite(site: SiteSettings): Promise<void> {
    this.site = site;
    await this.syncAll();
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
      e = { life: { state: 'stopped' }, openSockets: 0, activityDirty: false, pushing: Promise.resolve(), groupsSent: undefined, siteSent: undefined };
      this.entries.set(owner, e);
    }
    return e;
  }

  private infoOf(r: ServerRecord): ServerInfo {
    return { ...r, url: `http://127.0.0.1:${r.port}` };
  }

  /** A start moving on: listeners (the progress stream) hear each step once. */
  private reachStep(owner: string, e: Entry, step: StartStep): void {
    if (e.life.state !== 'starting' || e.life.step === step) return;
    e.life.step = step;
    this.emit('step', owner, step);
  }

  /** Every state change goes through here, so that listeners hear each one once. */
  private enter(owner: string, e: Entry, life: Lifecycle): void {
    const changed = e.life.state !== life.state;
    e.life = life;
    if (changed) this.emit('change', owner, life.state);
  }

  /**
   * A row a previous hub wrote before or during a start it never finished. Its server may not be
   * recorded (the hub died between spawn and saving the pid) and may still be booting, so every
   * server process of that owner on this data directory is stopped, found by command line.
   */
  private async stopHalfStarted(r: StoredServer): Promise<void> {
    const pids = serverProcessesOf(r.owner, this.opts.dataDir);
    if (pids.length) this.log.warn({ owner: r.owner, pids }, 'stopping a server that a previous hub left half-started');
    await Promise.all(pids.map((pid) => this.terminate(pid, undefined)));
    this.store.removeStarting(r.owner);
  }

  private async launch(owner: string, e: Entry): Promise<ServerInfo> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    const logPath = serverLogPath(this.opts.dataDir, owner);
    let child: ChildProcess | undefined;
    try {
      const account = await this.isolation.prepareOwner(owner);
      const secret = newServerSecret();
      const startedAt = Date.now();
      // Committed before the process exists: a hub killed from here on finds the row at restart.
      this.store.saveStarting(owner, secret, startedAt);
      const groups = this.groups;
      const accounts = this.accounts;
      const site = this.site;
      const launched = launchServer({
        dataDir: this.opts.dataDir,
        owner,
        ...(account ? { account } : {}),
        argv: this.serverArgv({ owner, dataDir: this.opts.dataDir, hubOrigin: this.opts.hubOrigin }),
        start: { type: 'start', secret, site, groups: groups ?? null, accounts: accounts ?? null },
      });
      child = launched.child;
      const pid = launched.pid;
      this.store.setStartingPid(owner, pid);
      child.on('error', (err) => this.log.warn({ owner, pid, err: err.message }, 'workflow server process error'));
      this.log.info({ owner, pid, isolation: this.isolation.mode, ...(account ? { uid: account.uid } : {}) }, 'starting workflow server');
      this.reachStep(owner, e, 'launched');
      const outcome = await this.waitListening(child, deadline);
      if (outcome.kind !== 'listening') {
        const tail = logTail(logPath, launched.logOffset);
        if (outcome.kind === 'timeout') {
          await this.terminate(pid, child);
          throw new Error(
            `the workflow server for "${owner}" did not report that it was listening within ` +
              `${Math.round(this.opts.startTimeoutMs / 1000)} s and was stopped; last lines of ${logPath}:\n${tail}`,
          );
        }
        const why = outcome.kind === 'failed' ? outcome.message : outcome.how;
        throw new Error(`the workflow server for "${owner}" could not start (${why}); last lines of ${logPath}:\n${tail}`);
      }
      if (outcome.pid !== pid) throw new Error(`the workflow server for "${owner}" reported pid ${outcome.pid}, not ${pid}`);
      this.reachStep(owner, e, 'listening');
      // One signed round trip proves the whole path: the port, the secret, the owner, the pid.
      const health = await checkHealth({ owner, port: outcome.port, secret }, Math.max(1, Math.min(this.opts.httpTimeoutMs, deadline - Date.now())), pid);
      if (!health.ok) {
        await this.terminate(pid, child);
        throw new Error(`the workflow server for "${owner}" failed its health check (${health.reason}) and was stopped`);
      }
      const record: ServerRecord = { owner, pid, port: outcome.port, secret, startedAt, lastActivity: Date.now() };
      this.store.saveRunning(record);
      const adopted: AdoptedMessage = e.life.state === 'starting' && e.life.pageVisit ? { type: 'adopted', pageVisit: true } : { type: 'adopted' };
      child.send(adopted, () => child?.disconnect());
      e.groupsSent = groups;
      e.siteSent = site;
      const running = child;
      this.enter(owner, e, { state: 'running', record, child: running, healthFailures: 0 });
      running.once('exit', (code, signal) => this.onExit(owner, e, pid, code, signal));
      if (running.exitCode !== null || running.signalCode !== null) this.markStopped(owner, e, record, 'exited during start-up');
      this.log.info({ owner, pid, port: record.port, ms: Date.now() - startedAt }, 'workflow server is ready');
      // Settings that changed while it started reach it now.
      void this.sync(owner, e);
      return this.infoOf(record);
    } catch (err) {
      this.store.removeStarting(owner);
      if (child?.connected) child.disconnect();
      this.enter(owner, e, { state: 'stopped' });
      this.log.warn({ owner, err: (err as Error).message }, 'workflow server failed to start');
      throw err;
    }
  }

  /** Waits for the server's report on the start-up channel, its exit, or the deadline. */
  private waitListening(child: ChildProcess, deadline: number): Promise<StartOutcome> {
    return new Promise((resolve) => {
      const finish = (o: StartOutcome) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(o);
      };
      const onMessage = (value: unknown) => {
        const report: ServerReport | undefined = parseServerReport(value);
        if (report?.type === 'listening') finish({ kind: 'listening', port: report.port, pid: report.pid });
        else if (report?.type === 'failed') finish({ kind: 'failed', message: report.message });
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish({ kind: 'exited', how: signal ? `killed by ${signal}` : `exit code ${code}` });
      const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, deadline - Date.now()));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  private onExit(owner: string, e: Entry, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed || e.life.state !== 'running' || e.life.record.pid !== pid) return;
    this.log.warn({ owner, pid, code, signal }, 'workflow server exited');
    this.markStopped(owner, e, e.life.record, 'exited');
  }

  private markStopped(owner: string, e: Entry, record: ServerRecord, why: string): void {
    const life = e.life;
    if ((life.state !== 'running' && life.state !== 'stopping') || life.record !== record) return;
    this.store.remove(owner, record.pid);
    e.activityDirty = false;
    this.log.info({ owner, pid: record.pid, why }, 'workflow server is stopped');
    this.enter(owner, e, { state: 'stopped' });
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

  private async syncAll(): Promise<void> {
    await Promise.all([...this.entries].map(([owner, e]) => this.sync(owner, e)));
  }

  /** Brings one running server up to the latest membership and site settings. */
  private sync(owner: string, e: Entry): Promise<void> {
    e.pushing = e.pushing.then(async () => {
      if (this.closed || e.life.state !== 'running') return;
      const record = e.life.record;
      const groups = this.groups;
      const accounts = this.accounts;
      const site = this.site;
      try {
        if (groups && e.groupsSent !== groups) {
          await putMembership(record, groups, accounts, this.opts.httpTimeoutMs);
          e.groupsSent = groups;
        }
        if (e.siteSent !== site) {
          await putSite(record, site, this.opts.httpTimeoutMs);
          e.siteSent = site;
        }
      } catch (err) {
        this.log.warn({ owner, err: (err as Error).message }, 'could not bring a server up to date with groups and site settings');
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
          const life = e.life;
          if (life.state !== 'running') return;
          const record = life.record;
          if (!isAlive(record.pid)) return this.markStopped(owner, e, record, 'process is gone');
          if (!life.child) {
            const health = await checkHealth(record, this.opts.httpTimeoutMs, record.pid);
            if (this.closed) return;
            life.healthFailures = health.ok ? 0 : life.healthFailures + 1;
            if (life.healthFailures >= MAX_HEALTH_FAILURES) {
              this.log.warn({ owner, pid: record.pid }, 'adopted server stopped answering its health check');
              return this.stopInBackground(owner);
            }
          }
          // A push that failed (a busy server, a timeout) is retried on every poll: a server must not
          // go on granting under site settings or groups the hub has since narrowed.
          if (e.siteSent !== this.site || (this.groups && e.groupsSent !== this.groups)) void this.sync(owner, e);
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
      if (!e.activityDirty || e.life.state !== 'running') continue;
      e.activityDirty = false;
      dirty.push({ owner, pid: e.life.record.pid, lastActivity: e.life.record.lastActivity });
    }
    if (dirty.length) this.store.saveActivity(dirty);
  }
}
