import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CONFIG_OPTION_HELP, siteFileFrom } from './site-file.js';
import { checkConfiguration, formatConfigIssue } from '../config/index.js';
import { HtpasswdFile } from '../htpasswd/index.js';


function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** `flotilla config check`: every problem in the site file, the owners' files and the htpasswd file. */
function runCheck(options: { config?: string }): number {
  const file = siteFileFrom(options.config);
  const report = checkConfiguration(file);
  for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
  const problems = report.issues.map(formatConfigIssue);
  let accounts: string | undefined;
  if (report.site) {
    const htpasswd = report.site.JupyterHub.authenticator.htpasswd_file;
    if (existsSync(htpasswd)) {
      try {
        const found = new HtpasswdFile(htpasswd).accounts();
        problems.push(...found.problems);
        accounts = `${htpasswd}: ${plural(found.hashes.size, 'account')}`;
      } catch (err) {
        problems.push((err as Error).message);
      }
    } else {
      accounts = `${htpasswd}: no such file yet, so nobody can sign in`;
    }
  }
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    process.stderr.write(`config check: ${plural(problems.length, 'problem')} found\n`);
    return 1;
  }
  const { counts } = report;
  const parts = [
    plural(counts.users, 'user'),
    plural(counts.groups, 'group'),
    plural(counts.roles, 'role'),
    `${plural(counts.owners, 'owner')} (${plural(counts.ownerFiles, 'owner file')}, ${plural(counts.workflows, 'workflow')})`,
  ];
  process.stdout.write(`OK ${report.file ?? '(embedded defaults)'}: ${parts.join(', ')} checked${accounts ? `; ${accounts}` : ''}\n`);
  return 0;
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('inspect the site configuration');
  config
    .command('check')
    .description(
      'validate the site file, every owner\'s file under <data_dir>/users/ and every workflow\'s flow.yaml; exit 1 on any problem',
    )
    .option('--config <file>', CONFIG_OPTION_HELP)
    .action((options: { config?: string }) => {
      process.exitCode = runCheck(options);
    });
}
