/**
 * Which operating-system account an owner's workflow server (and so every task it runs) uses.
 *
 * The spawner knows only this interface; the modes (`shared`, `system`, `dynamic`) are
 * implementations of it. Anything that fails here fails the start: a server never falls back to
 * the hub's own account.
 */
import { ownerDirectory } from './server-process.js';
import { claimOwnerFolder, protectHubFiles } from './owner-folder.js';
import { lookupSystemAccount, processUids, type SystemAccount } from './system-account.js';
import type { Logger } from '../util/logger.js';

export type IsolationMode = 'shared' | 'system' | 'dynamic';

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

/** Why `pid` does not run as `account`, if it does not. */
export async function notRunningAs(account: SystemAccount, owner: string, pid: number): Promise<string | undefined> {
  const uids = await processUids(pid);
  if (!uids) return 'its process is gone';
  if (uids.real !== account.uid || uids.effective !== account.uid) {
    return `it runs as uid ${uids.effective}, not ${owner}'s uid ${account.uid}`;
  }
  return undefined;
}

/** Gives the owner's folder to `account`, logging what changed. */
export async function claimFor(dataDir: string, owner: string, account: SystemAccount, log: Logger): Promise<void> {
  const claimed = await claimOwnerFolder(ownerDirectory(dataDir, owner), account);
  if (claimed.changed) log.info({ owner, uid: account.uid, changed: claimed.changed }, "gave the owner's folder to their account");
  if (claimed.skipped.length) {
    log.warn({ owner, skipped: claimed.skipped.slice(0, 20) }, "left files with other hard links in the owner's folder alone");
  }
}

/** Refuses to build an isolating mode unless the hub is root (it must change uid and chown). */
export function requireRoot(mode: IsolationMode): void {
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new Error(
      `JupyterHub.spawner.isolation is "${mode}", but the hub runs as uid ${uid ?? 'unknown'}, not root; ` +
        'start the hub as root, or set isolation to "shared" (every signed-in user can then read the hub\'s secrets)',
    );
  }
}

/** The operating-system account of the owner's name (`system`, formerly `run_as_owner`). */
export function systemIsolation(opts: { dataDir: string; hubSecretFiles: string[]; logger: Logger }): Isolation {
  requireRoot('system');
  protectHubFiles(opts.dataDir, opts.hubSecretFiles);
  return {
    mode: 'system',
    async prepareOwner(owner) {
      const account = await lookupSystemAccount(owner);
      await claimFor(opts.dataDir, owner, account, opts.logger);
      return account;
    },
    async wrongAccount(owner, pid) {
      let account: SystemAccount;
      try {
        account = await lookupSystemAccount(owner);
      } catch (err) {
        return (err as Error).message;
      }
      return notRunningAs(account, owner, pid);
    },
  };
}
