import type { Command } from 'commander';
import { loadSiteConfig } from '../config/index.js';
import { serverProcessesOn, signalGroup } from '../spawner/server-process.js';
import { errorMessage } from '../util/values.js';
import { CONFIG_OPTION_HELP, siteFileFrom } from './site-file.js';

const POLL_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until none of `pids` is still a server on `dataDir` or `ms` have passed; returns those
 * left. Looked up by command line, not by signal 0, so that a server of another account (which
 * signal 0 cannot tell from a reused pid) still counts as running.
 */
async function waitGone(dataDir: string, pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  const left = () => {
    const running = new Set(serverProcessesOn(dataDir).map((s) => s.pid));
    return pids.filter((pid) => running.has(pid));
  };
  let alive = left();
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(POLL_MS);
    alive = left();
  }
  return alive;
}

/**
 * `flotilla stop-servers`: stops every workflow server of a data directory. Servers outlive the
 * hub by design (a hub restart must not stop anyone's work), so starting over, or taking a site
 * down, needs this. Servers are found by their command lines, not by the hub's database, so that
 * it also works when the database is gone or the hub died while starting one.
 */
export function registerStopServersCommand(program: Command): void {
  program
    .command('stop-servers')
    .description('stop every workflow server of the data directory (they keep running when the hub stops); each finishes its jobs\' bookkeeping and exits, SIGKILL after the grace period')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .option('--grace <seconds>', 'how long servers get to exit after SIGTERM before SIGKILL', (v) => Number(v), 10)
    .action(async (opts: { config?: string; grace: number }) => {
      try {
        if (!Number.isFinite(opts.grace) || opts.grace < 0) throw new Error('--grace: expected a number of seconds ≥ 0');
        const dataDir = loadSiteConfig(siteFileFrom(opts.config)).JupyterHub.data_dir;
        const servers = serverProcessesOn(dataDir);
        if (servers.length === 0) {
          process.stdout.write(`no workflow servers are running on ${dataDir}\n`);
          return;
        }
        for (const { pid } of servers) signalGroup(pid, 'SIGTERM');
        const stubborn = await waitGone(dataDir, servers.map((s) => s.pid), opts.grace * 1000);
        for (const pid of stubborn) signalGroup(pid, 'SIGKILL');
        const survivors = await waitGone(dataDir, stubborn, 5_000);
        const stopped = servers.filter((s) => !survivors.includes(s.pid));
        const names = stopped.map((s) => s.owner).sort();
        process.stdout.write(`stopped ${stopped.length} workflow server${stopped.length === 1 ? '' : 's'} on ${dataDir}${names.length ? `: ${names.join(', ')}` : ''}\n`);
        if (stubborn.length > 0) process.stdout.write(`${stubborn.length} did not exit within ${opts.grace} s and got SIGKILL\n`);
        if (survivors.length > 0) {
          const left = servers.filter((s) => survivors.includes(s.pid)).map((s) => `${s.owner} (pid ${s.pid})`);
          process.stderr.write(`flotilla stop-servers: still running: ${left.join(', ')}; servers of other accounts can be stopped only by the hub's account or root\n`);
          process.exitCode = 1;
        }
        process.stdout.write('a running hub starts servers again when someone opens them: stop the hub first to keep them stopped\n');
      } catch (err) {
        process.stderr.write(`flotilla stop-servers: ${errorMessage(err)}\n`);
        process.exitCode = 1;
      }
    });
}
