import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_OPTION_HELP, DEFAULT_CONFIG, siteFileFrom } from './site-file.js';
import { loadSiteConfig, type SiteConfig } from '../config/index.js';
import { createDemoSite, demoSiteWanted, describeDemoSite } from '../demo/demo-site.js';
import { hubDatabaseFile } from '../hub/db.js';
import { createHub, type Hub } from '../hub/index.js';
import { explainDatabaseError, isDatabaseDamage } from '../storage/sqlite-open.js';
import { createLogger } from '../util/logger.js';
import { errorMessage } from '../util/values.js';

/** Exit status of a hub stopped by damage or an error it cannot go on after. */
const EXIT_FATAL = 3;

/**
 * On embedded defaults with no accounts at all, a newcomer's first start: create the demo site,
 * print its accounts once, and run on the configuration it wrote. Never when a file was given.
 */
async function withDemoSiteIfNew(config: SiteConfig): Promise<SiteConfig> {
  const wanted = demoSiteWanted({ configGiven: config.file !== null, htpasswdFile: config.JupyterHub.authenticator.htpasswd_file });
  if (!wanted) return config;
  const site = await createDemoSite({ dataDir: config.JupyterHub.data_dir, configFile: resolve(DEFAULT_CONFIG) });
  process.stderr.write(`${describeDemoSite(site, config.JupyterHub.bind_url)}\n`);
  return loadSiteConfig(site.configFile);
}

/** `flotilla hub [--config FILE]`: the hub, on ./jupyter_config.json when present, else embedded defaults. */
export function registerHubCommand(program: Command): void {
  program
    .command('hub')
    .description('start the hub: sign-in, REST API, pages, and the proxy to workflow servers')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .option('--start-fresh', 'start on a missing or empty hub.sqlite although this hub has run before (its sessions, tokens, groups and server records are gone)')
    .action(async (opts: { config?: string; startFresh?: boolean }) => {
      const logger = createLogger('hub');
      const file = siteFileFrom(opts.config);
      let hub: Hub | undefined;
      let stopGraceMs = 10_000;
      let stopping = false;
      // Exits within stop_grace whatever happens: a client holding a socket open, a stuck close.
      const stop = (exitCode: number): void => {
        if (stopping) return;
        stopping = true;
        setTimeout(() => process.exit(exitCode), stopGraceMs).unref();
        void (hub?.close() ?? Promise.resolve()).then(
          () => process.exit(exitCode),
          () => process.exit(exitCode || 1),
        );
      };
      const fatal = (message: string): void => {
        logger.fatal(message);
        process.stderr.write(`flotilla hub: ${message}; stopping\n`);
        stop(EXIT_FATAL);
      };
      try {
        const config = await withDemoSiteIfNew(loadSiteConfig(file));
        stopGraceMs = config.JupyterHub.spawner.stop_grace * 1000;
        const hubFile = hubDatabaseFile(config.JupyterHub.data_dir);
        // Run-time damage must stop the hub with the file named, never as a bare uncaught error.
        const uncaught = (err: unknown) => fatal(isDatabaseDamage(err) ? explainDatabaseError(hubFile, err).message : `uncaught error: ${errorMessage(err)}`);
        process.on('uncaughtException', uncaught);
        process.on('unhandledRejection', uncaught);
        hub = createHub(config, { logger, ...(opts.startFresh ? { startFresh: true } : {}), onDatabaseDamage: (err) => fatal(err.message) });
        const ctx = hub.context;
        logger.info(
          {
            config: config.file ?? 'embedded defaults',
            users: ctx.users.count,
            groups: Object.keys(config.JupyterHub.load_groups).length,
            roles: config.JupyterHub.load_roles.length,
            system_groups: config.WorkflowServer.system_groups,
            data_dir: config.JupyterHub.data_dir,
          },
          `configuration ${config.file ?? '(embedded defaults)'}: ${ctx.users.count} users; ` +
            `groups ${Object.keys(config.JupyterHub.load_groups).length ? 'loaded' : 'none in config'}; ` +
            `roles ${config.JupyterHub.load_roles.length ? 'loaded' : 'defaults only'}`,
        );
        if (ctx.users.count === 0) {
          logger.warn(
            `no one can sign in yet: add an account with ` +
              `bin/flotilla passwd add --file ${config.JupyterHub.authenticator.htpasswd_file} USER`,
          );
        }
        const address = await hub.listen();
        logger.info(`hub listening on ${config.JupyterHub.bind_url} (${address.address}:${address.port})`);
      } catch (err) {
        process.stderr.write(`flotilla hub: ${(err as Error).message}\n`);
        await hub?.close();
        process.exit(1);
      }
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'hub stopping: proxied WebSockets are told 1001 Going Away; workflow servers keep running');
        stop(0);
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      // A terminal closing or an administrator's reflex must not take the hub down. Workflow
      // servers follow the site file by themselves; hub settings need a restart.
      process.on('SIGHUP', () => {
        logger.info(
          'SIGHUP: the hub sends site_authorization to workflow servers whenever the site file changes; ' +
            'changes to hub settings (bind_url, accounts lists, groups, roles, spawner) need a hub restart',
        );
      });
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
}
