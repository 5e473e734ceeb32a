/**
 * Which operating-system account an owner's workflow server (and so every task it runs) uses.
 *
 * The spawner knows only this interface; the modes (`shared`, `system`, `dynamic`) are
 * implementations of it. Anything that fails here fails the start: a server never falls back to
 * the hub's own account.
 */
import type { Database } from 'better-sqlite3';
import { chooseIsolation, needsRootMessage, SHARED_MODE_WARNING, slurmIsolationProblem, slurmPlatformNames, type IsolationMode, type SiteConfig, type UidRange } from '../config/index.js';
import type { Logger } from '../util/logger.js';
import { DynamicUids, type NumberKnown } from './dynamic-uids.js';
import { InstallationCheck, serverRequirements } from './install-check.js';
import { claimOwnerFolder, protectHubFiles } from './owner-folder.js';
import { ownerDirectory } from './server-process.js';
import { lookupSystemAccount, processUids, type SystemAccount } from './system-account.js';

export type { IsolationMode };

export interface Isolation {
  readonly mode: IsolationMode;
  /** The account the owner's server is to run as, with their folder made theirs first;
   * undefined when it runs as the hub's own account (`shared`). Throws when it cannot. */
  prepareOwner(owner: string): Promise<SystemAccount | undefined>;
  /** Why the process `pid` is not running as the owner's account, if it is not (for adoption). */
  wrongAccount(owner: string, pid: number): Promise<string | undefined>;
}

/** Every server runs as the hub's own account: only safe when one person uses the hub. */
export const sharedIsolation: Isolation = {
  mode: 'shared',
  prepareOwner: async () => undefined,
  wrongAccount: async () => undefined,
};

/** What the isolating modes need: where the data is and which of the hub's files are secret. */
export interface IsolationOptions {
  dataDir: string;
  /** Cookie secret, htpasswd file, site file…: made readable by the hub alone (the database is always included). */
  hubSecretFiles: string[];
  logger: Logger;
}

/** Why `pid` does not run as `account`, if it does not. */
async function notRunningAs(account: { uid: number }, owner: string, pid: number): Promise<string | undefined> {
  const uids = await processUids(pid);
  if (!uids) return 'its process is gone';
  if (uids.real !== account.uid || uids.effective !== account.uid) {
    return `it runs as uid ${uids.effective}, not ${owner}'s uid ${account.uid}`;
  }
  return undefined;
}

/** Refuses to build an isolating mode unless the hub is root (it must change uid and chown). */
function requireRoot(mode: IsolationMode): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(needsRootMessage(mode, uid));
}

/**
 * The common part of `system` and `dynamic`: root only; the hub's files protected at once; at
 * each start the installation checked for the account and the owner's folder given to it.
 */
function isolating(mode: IsolationMode, opts: IsolationOptions, accountOf: (owner: string) => Promise<SystemAccount>, recordedUid: (owner: string) => Promise<number>): Isolation {
  requireRoot(mode);
  protectHubFiles(opts.dataDir, opts.hubSecretFiles);
  const installation = new InstallationCheck(serverRequirements(opts.dataDir));
  return {
    mode,
    async prepareOwner(owner) {
      const account = await accountOf(owner);
      await installation.check(owner, account);
      const claimed = await claimOwnerFolder(ownerDirectory(opts.dataDir, owner), account);
      if (claimed.changed) {
        opts.logger.info({ owner, uid: account.uid, changed: claimed.changed }, `took over ${owner}'s folder for uid ${account.uid}`);
      }
      if (claimed.skipped.length) {
        opts.logger.warn({ owner, skipped: claimed.skipped.slice(0, 20) }, "left files with other hard links in the owner's folder alone");
      }
      return account;
    },
    async wrongAccount(owner, pid) {
      try {
        return await notRunningAs({ uid: await recordedUid(owner) }, owner, pid);
      } catch (err) {
        return (err as Error).message;
      }
    },
  };
}

/** The operating-system account of the owner's name (`system`, formerly `run_as_owner`). */
export function systemIsolation(opts: IsolationOptions): Isolation {
  return isolating('system', opts, lookupSystemAccount, async (owner) => (await lookupSystemAccount(owner)).uid);
}

/**
 * A dedicated uid and gid per owner from `range`, kept in the hub database (`dynamic`): no
 * account in the passwd database needed. The server's home is the owner's folder.
 */
export function dynamicIsolation(opts: IsolationOptions & { db: Database; range: UidRange; numberKnown?: NumberKnown }): Isolation {
  const uids = new DynamicUids(opts.db, opts.range, opts.numberKnown);
  return isolating(
    'dynamic',
    opts,
    async (owner) => {
      const uid = await uids.uidFor(owner);
      return { name: owner, uid, gid: uid, home: ownerDirectory(opts.dataDir, owner) };
    },
    async (owner) => {
      const uid = uids.recorded(owner);
      if (uid === undefined) throw new Error(`${owner} has no dynamic uid recorded`);
      return uid;
    },
  );
}

/**
 * The isolation a site configuration asks for, for a hub running as the current uid: refused
 * with the reason when it cannot run (shared as root, the others not as root), with the
 * run_as_owner migration note and the shared-mode warning logged.
 */
export function isolationForSite(config: SiteConfig, db: Database, logger: Logger): Isolation {
  const hub = config.JupyterHub;
  const choice = chooseIsolation(hub.spawner, process.getuid?.());
  if (choice.refused) throw new Error(choice.refused);
  const slurm = slurmPlatformNames(config.WorkflowServer.platforms);
  // Workflow servers refuse jobs on them themselves (they check their own account): said once here.
  if (slurm.length > 0 && choice.mode !== 'system') logger.warn(`WorkflowServer.platforms ${slurm.join(', ')}: ${slurmIsolationProblem(choice.mode)}; until then their jobs are refused`);
  if (choice.migrate) logger.warn(choice.migrate);
  const options: IsolationOptions = {
    dataDir: hub.data_dir,
    hubSecretFiles: [hub.cookie_secret_file, hub.authenticator.htpasswd_file, ...(config.file ? [config.file] : [])],
    logger,
  };
  switch (choice.mode) {
    case 'shared':
      logger.warn(SHARED_MODE_WARNING);
      return sharedIsolation;
    case 'system':
      return systemIsolation(options);
    case 'dynamic':
      return dynamicIsolation({ ...options, db, range: hub.spawner.dynamic_uids });
  }
}
