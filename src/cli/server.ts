import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { isValidUserName } from '../config/names.js';
import { slurmPlatformNames, type PlatformConfig } from '../config/site.js';
import { parseStartMessage, type AdoptedMessage, type ServerReport, type StartMessage } from '../identity/launch.js';
import { isLoopback, startWorkflowServer, type RunningWorkflowServer } from '../server/app.js';
import { workflowServerSettings } from '../server/site-settings.js';
import type { ServerLimits } from '../server/limits.js';
import { createLogger, type Logger } from '../util/logger.js';
import { errorMessage } from '../util/values.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port number 0-65535');
  return port;
}

interface ServerCommandOptions {
  owner: string;
  dataDir: string;
  port: number;
  host: string;
  hubOrigin: string;
}

/** How long a server waits for the hub's start message before giving up. */
const START_MESSAGE_TIMEOUT_MS = 30_000;

/** The hub's start message, from the IPC channel it opened (see identity/launch.ts). */
function startMessage(): Promise<StartMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start message from the hub within ${START_MESSAGE_TIMEOUT_MS / 1000} s`)), START_MESSAGE_TIMEOUT_MS);
    const onDisconnect = () => reject(new Error('the hub went away before sending the start message'));
    process.once('disconnect', onDisconnect);
    process.once('message', (value: unknown) => {
      clearTimeout(timer);
      process.off('disconnect', onDisconnect);
      const parsed = parseStartMessage(value);
      if (typeof parsed === 'string') reject(new Error(parsed));
      else resolve(parsed);
    });
  });
}

function report(message: ServerReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/**
 * Until the hub says it has recorded this server, a lost channel means the hub died mid-start:
 * nobody knows this server, so it stops rather than run an engine beside a later one. After
 * that it lets the channel go and lives on without the hub (loading its pages at once when
 * someone is being sent to one).
 */
function followHub(running: RunningWorkflowServer, logger: Logger, stop: (why: string) => void): void {
  const onDisconnect = () => stop('the hub went away before it recorded this server');
  process.once('disconnect', onDisconnect);
  process.once('message', (value: unknown) => {
    const message = value as Partial<AdoptedMessage> | null;
    if (message?.type !== 'adopted') return stop('the hub sent an unexpected message during start-up');
    process.off('disconnect', onDisconnect);
    if (message.pageVisit === true) {
      logger.info('started for a page visit: loading the pages now');
      running.preparePages();
    }
    logger.info({ url: running.url }, 'the hub recorded this server; leaving the start-up channel');
    process.disconnect();
  });
}

/**
 * Slurm runs a job as the account that submits it, which is this process's. Only when that is the
 * owner's own account (isolation "system") may this server submit; under "dynamic" its uid is no
 * account of the cluster's, under "shared" it is the hub's account. Checked on the account itself,
 * so that no setting can get it wrong.
 */
export function slurmRefusalFor(owner: string, logger: Logger): { slurmRefusal?: string } {
  let account: string | undefined;
  try {
    account = userInfo().username;
  } catch {
    account = undefined;
  }
  if (account === owner) return {};
  const slurmRefusal = `Slurm runs a job as the account that submits it, and this workflow server runs as ${account === undefined ? `uid ${process.getuid?.()}` : `"${account}"`}, ` +
    `not as "${owner}"; Slurm platforms need JupyterHub.spawner.isolation "system"`;
  logger.warn({ owner, account }, `jobs on Slurm platforms are refused: ${slurmRefusal}`);
  return { slurmRefusal };
}

/**
 * `flotilla backup` sends SIGUSR2 for a snapshot of the engine's database (engine.snapshot()).
 * Listened for from the first moment: the default action of SIGUSR2 would end the server.
 */
function answerBackupRequests(logger: Logger): { ready(snapshot: () => Promise<string>): void } {
  let take: (() => Promise<string>) | undefined;
  let underway = false;
  process.on('SIGUSR2', () => {
    if (!take) {
      logger.warn('a backup snapshot was asked for before the engine started: ignored');
      return;
    }
    if (underway) return; // the snapshot under way answers this request too
    underway = true;
    take().then(
      (file) => logger.info({ file }, 'backup snapshot written'),
      (err: unknown) => logger.error({ err: errorMessage(err) }, 'backup snapshot failed'),
    ).finally(() => {
      underway = false;
    });
  });
  return { ready: (snapshot) => { take = snapshot; } };
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description("run one owner's workflow server (the hub starts it; people don't)")
    .requiredOption('--owner <name>', 'the owner whose workflows this server runs')
    .requiredOption('--data-dir <dir>', 'the hub data directory (workflows under users/<owner>/)')
    .option('--port <port>', 'port to listen on (0: any free port, reported to the hub)', parsePort, 0)
    .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
    .requiredOption('--hub-origin <url>', "the hub's own origin, e.g. http://127.0.0.1:8000 (WebSocket Origin check)")
    .action(async (opts: ServerCommandOptions) => {
      const logger = createLogger('workflow-server');
      const snapshots = answerBackupRequests(logger);
      const fail = async (message: string): Promise<never> => {
        logger.fatal(message);
        process.stderr.write(`flotilla server: ${message}\n`);
        await report({ type: 'failed', message });
        process.exit(2);
      };
      if (!process.send) return fail('the hub starts workflow servers (over an IPC channel); this process has none');
      if (!isValidUserName(opts.owner)) return fail(`--owner: ${JSON.stringify(opts.owner)} is not a valid user name`);
      if (!isLoopback(opts.host)) return fail(`--host ${opts.host}: the workflow server listens on loopback addresses only`);
      let hubOrigin = '';
      try {
        hubOrigin = new URL(opts.hubOrigin).origin;
      } catch {
        return fail(`--hub-origin: ${JSON.stringify(opts.hubOrigin)} is not a URL`);
      }
      const start = await startMessage().catch((err: unknown) => fail(errorMessage(err)));
      let concurrency: number | undefined;
      let limits: ServerLimits | undefined;
      let stallTimeout: number | undefined;
      let platforms: Record<string, PlatformConfig> | undefined;
      try {
        ({ max_concurrent_jobs: concurrency, limits, stall_timeout: stallTimeout, platforms } = workflowServerSettings(start.site));
      } catch {
        // Unusable settings deny access users (AccessControl says so in the log); jobs run at the default width, under the default limits.
      }
      const running = await startWorkflowServer({
        owner: opts.owner,
        dataDir: opts.dataDir,
        site: start.site,
        groups: start.groups,
        accounts: start.accounts,
        secret: start.secret,
        hubOrigin,
        host: opts.host,
        port: opts.port,
        logger,
        ...(concurrency ? { concurrency } : {}),
        ...(limits ? { limits } : {}),
        ...(stallTimeout !== undefined ? { stallTimeout } : {}),
        ...(platforms ? { platforms } : {}),
        ...(platforms && slurmPlatformNames(platforms).length > 0 ? slurmRefusalFor(opts.owner, logger) : {}),
      }).catch((err: unknown) => fail(errorMessage(err)));
      let stopping = false;
      const stop = (why: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ why }, 'stopping');
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      snapshots.ready(() => running.engine.snapshot());
      followHub(running, logger, stop);
      await report({ type: 'listening', port: running.port, pid: process.pid });
      process.on('SIGHUP', () => logger.info('SIGHUP ignored: site settings come from the hub, the owner file is watched'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
