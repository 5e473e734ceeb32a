import { Command, InvalidArgumentError } from 'commander';
import { isValidUserName, loadSiteConfig } from '../config/index.js';
import { SECRET_ENV } from '../identity/proof.js';
import { isLoopback, startWorkflowServer } from '../server/app.js';
import { createLogger } from '../util/logger.js';
import { errorMessage } from '../util/values.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port number 0-65535');
  return port;
}

interface ServerCommandOptions {
  owner: string;
  dataDir: string;
  config?: string;
  port: number;
  host: string;
  hubOrigin: string;
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description("run one owner's workflow server (the hub starts it; people don't)")
    .requiredOption('--owner <name>', 'the owner whose workflows this server runs')
    .requiredOption('--data-dir <dir>', 'the hub data directory (workflows under users/<owner>/)')
    .option('--config <file>', 'the site configuration file (for site_authorization)')
    .requiredOption('--port <port>', 'port to listen on (0: any free port)', parsePort)
    .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
    .requiredOption('--hub-origin <url>', "the hub's own origin, e.g. http://127.0.0.1:8000 (WebSocket Origin check)")
    .action(async (opts: ServerCommandOptions) => {
      const logger = createLogger('workflow-server');
      const fail = (message: string): never => {
        logger.fatal(message);
        process.stderr.write(`flotilla server: ${message}\n`);
        process.exit(2);
      };
      const secret = process.env[SECRET_ENV];
      if (!secret || secret.length < 16) fail(`${SECRET_ENV} must hold the secret the hub gave this server (at least 16 characters)`);
      // The secret must not leak to jobs, which inherit the environment.
      delete process.env[SECRET_ENV];
      if (!isValidUserName(opts.owner)) fail(`--owner: ${JSON.stringify(opts.owner)} is not a valid user name`);
      if (!isLoopback(opts.host)) fail(`--host ${opts.host}: the workflow server listens on loopback addresses only`);
      let hubOrigin = '';
      try {
        hubOrigin = new URL(opts.hubOrigin).origin;
      } catch {
        fail(`--hub-origin: ${JSON.stringify(opts.hubOrigin)} is not a URL`);
      }
      let concurrency: number | undefined;
      let stallTimeout: number | undefined;
      try {
        ({ max_concurrent_jobs: concurrency, stall_timeout: stallTimeout } = loadSiteConfig(opts.config).WorkflowServer);
      } catch (err) {
        fail(errorMessage(err));
      }
      const running = await startWorkflowServer({
        owner: opts.owner,
        dataDir: opts.dataDir,
        ...(opts.config ? { siteFile: opts.config } : {}),
        secret: secret as string,
        hubOrigin,
        host: opts.host,
        port: opts.port,
        logger,
        ...(concurrency ? { concurrency } : {}),
        ...(stallTimeout !== undefined ? { stallTimeout } : {}),
      }).catch((err: unknown) => fail(errorMessage(err)));
      process.on('SIGHUP', () => {
        logger.info('SIGHUP: re-reading the site configuration');
        running.access.reloadSite();
      });
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
