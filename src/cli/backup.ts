import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, siteFileFrom } from './site-file.js';
import { loadSiteConfig } from '../config/index.js';
import { serverProcessesOf } from '../spawner/server-process.js';
import { backupDatabases } from '../storage/backup.js';
import { errorMessage } from '../util/values.js';

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** `flotilla backup --to DIR`: online backups of hub.sqlite and every owner's engine.sqlite. */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description("copy the hub's database and every owner's engine database into a new timestamped folder, safely while they run")
    .option('--config <file>', `site configuration file, for data_dir (default: ./${DEFAULT_CONFIG} if present, else embedded defaults)`)
    .requiredOption('--to <dir>', 'folder to create the backup folder in')
    .action(async (opts: { config?: string; to: string }) => {
      try {
        const config = loadSiteConfig(siteFileFrom(opts.config));
        const dataDir = config.JupyterHub.data_dir;
        const result = await backupDatabases(dataDir, resolve(opts.to), (owner, pid) => serverProcessesOf(owner, dataDir).includes(pid));
        const owners = result.files.length - 1;
        const bytes = result.files.reduce((sum, file) => sum + file.bytes, 0);
        process.stdout.write(
          `backed up hub.sqlite and ${owners} ${owners === 1 ? "owner's" : "owners'"} engine.sqlite (${megabytes(bytes)}) to ${result.folder}\n`,
        );
        for (const { what, reason } of result.failed) process.stderr.write(`flotilla backup: ${what} not backed up: ${reason}\n`);
        if (result.failed.length > 0) process.exitCode = 1;
      } catch (err) {
        process.stderr.write(`flotilla backup: ${errorMessage(err)}\n`);
        process.exitCode = 1;
      }
    });
}
