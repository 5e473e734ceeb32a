import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadSiteConfig, type SiteConfig } from '../config/index.js';
import { createDemoSite, demoSiteWanted, describeDemoSite } from '../demo/demo-site.js';
import { createHub } from '../hub/index.js';
import { createLogger } from '../util/logger.js';

const DEFAULT_CONFIG = 'jupyter_config.json';

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
    .option('--config <file>', `site configuration file (default: ./${DEFAULT_CONFIG} if present, else embedded defaults)`)
    .action(async (opts: { config?: string }) => {
      const logger = createLogger('hub');
      const file = opts.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
      let hub;
      try {
        const config = await withDemoSiteIfNew(loadSiteConfig(file));
        hub = createHub(config, { logger });
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
      const running = hub;
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'hub stopping; workflow servers keep running');
        void running.close().then(() => process.exit(0));
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
