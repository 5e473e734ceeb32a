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
  /** False once the hub is closing: a confirmation that comes later deletes nothing. */
  open(): boolean;
}

/**
 * How long an account must stay missing, in two clean reads of the htpasswd file, before what it
 * left is deleted: a file rewritten in place can be read cut exactly at a line's end, which looks
 * like a clean file without the accounts after the cut.
 */
export const DEPARTURE_CONFIRM_MS = 2_000;

/**
 * Clears out what one account that no longer exists left behind: its API tokens and sessions are
 * deleted, not merely refused, so that a name added again later does not revive them; its
 * workflow server is stopped. Idempotent; a server that will not stop is logged, not thrown.
 */
export async function clearAccount(parts: Omit<DepartedAccountsParts, 'users' | 'open'>, user: string): Promise<void> {
  const { tokens, sessions, servers, logger } = parts;
  const deletedTokens = tokens.revokeAll(user);
  const deletedSessions = sessions.destroyUser(user);
  if (deletedTokens + deletedSessions > 0) {
    logger.warn({ user, tokens: deletedTokens, sessions: deletedSessions }, 'account gone: deleted its API tokens and sessions');
  }
  if (servers.status(user) === 'stopped') return;
  logger.warn({ user }, 'account gone: stopping its workflow server');
  await servers.stop(user).catch((err: Error) => logger.error({ user, err: err.message }, 'cannot stop the workflow server of an account that is gone'));
}

/**
 * Clears out what every account that no longer exists (gone from the htpasswd file, no longer
 * allowed, or blocked) left behind, as clearAccount does. Run at hub start and whenever the
 * account list changes.
 */
export async function clearDepartedAccounts(parts: DepartedAccountsParts): Promise<void> {
  const departed = departedNow(parts);
  if (departed.length === 0) return;
  await new Promise((resolve) => setTimeout(resolve, DEPARTURE_CONFIRM_MS));
  if (!parts.open()) return;
  parts.users.refresh();
  const still = new Set(departedNow(parts));
  await Promise.all(departed.filter((user) => still.has(user)).map((user) => clearAccount(parts, user)));
}

/** Names that hold tokens, sessions or a server but have no account, on a clean read of the file. */
function departedNow({ users, tokens, sessions, servers }: DepartedAccountsParts): string[] {
  // Before any good read of the htpasswd file every account looks gone: delete nothing on that.
  if (!users.loaded) return [];
  const owners = servers.spawner.list().map((s) => s.owner);
  const leftBehind = new Set([...tokens.holders(), ...sessions.signedInUsers(), ...owners]);
  return [...leftBehind].filter((user) => !users.exists(user));
}
