import type { Logger } from '../../util/logger.js';
import type { ServerControl } from '../servers.js';
import type { SqliteSessionStore } from '../sessions/sqlite-store.js';
import type { TokenStore } from '../tokens/token-store.js';
import type { UserDirectory } from './user-directory.js';

export interface DepartedAccountsParts {
  users: UserDirectory;
  tokens: TokenStore;
  sessions: SqliteSessionStore;
  servers: ServerControl;
  logger: Logger;
}

/**
 * Clears out what accounts that no longer exist (gone from the htpasswd file, no longer allowed,
 * or blocked) left behind: their API tokens and sessions are deleted, not merely refused, so that
 * a name added again later does not revive them; their workflow servers are stopped. Idempotent:
 * run at hub start and whenever the account list changes.
 */
export async function clearDepartedAccounts(parts: DepartedAccountsParts): Promise<void> {
  const { users, tokens, sessions, servers, logger } = parts;
  // Before any good read of the htpasswd file every account looks gone: delete nothing on that.
  if (!users.loaded) return;
  const owners = servers.spawner.list().map((s) => s.owner);
  const leftBehind = new Set([...tokens.holders(), ...sessions.signedInUsers(), ...owners]);
  const stops: Promise<void>[] = [];
  for (const user of leftBehind) {
    if (users.exists(user)) continue;
    const deletedTokens = tokens.revokeAll(user);
    const deletedSessions = sessions.destroyUser(user);
    if (deletedTokens + deletedSessions > 0) {
      logger.warn({ user, tokens: deletedTokens, sessions: deletedSessions }, 'account gone: deleted its API tokens and sessions');
    }
    if (servers.status(user) !== 'stopped') {
      logger.warn({ user }, 'account gone: stopping its workflow server');
      stops.push(servers.stop(user).catch((err: Error) => logger.error({ user, err: err.message }, 'cannot stop the workflow server of an account that is gone')));
    }
  }
  await Promise.all(stops);
}
