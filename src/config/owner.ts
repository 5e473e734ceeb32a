import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserAuthorization } from '../authz/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { userAuthorizationSchema } from './authz-values.js';
import { ConfigError } from './errors.js';
import { readJsonFile } from './json.js';
import { assertValidUserName } from './names.js';
import { plainMessage, refusedKey, strictObject, toConfigIssues } from './schema-helpers.js';

// Every path helper checks the owner name first: a name is one path segment, never `..` or `a/b`.
export function ownerDir(dataDir: string, owner: string): string {
  assertValidUserName(owner, 'owner name');
  return join(resolve(dataDir), 'users', owner);
}

export function ownerConfigPath(dataDir: string, owner: string): string {
  return join(ownerDir(dataDir, owner), 'jupyter_config.json');
}

export function workflowsDir(dataDir: string, owner: string): string {
  return join(ownerDir(dataDir, owner), 'workflows');
}

const ownerSchema = strictObject({
  JupyterHub: refusedKey('hub settings belong in the site configuration file, not in an owner\'s file'),
  WorkflowServer: strictObject({
    user_authorization: userAuthorizationSchema,
    site_authorization: refusedKey(
      'only the site configuration file can carry site_authorization; an owner\'s file holds user_authorization alone',
    ),
  }).optional(),
});

/** Validates a parsed owner file; `displayName` is how errors name the file. */
export function parseOwnerConfig(raw: unknown, displayName: string): UserAuthorization | undefined {
  const result = ownerSchema.safeParse(raw, { error: plainMessage });
  if (!result.success) throw new ConfigError(toConfigIssues(displayName, result.error));
  return result.data.WorkflowServer?.user_authorization;
}

/** The owner's user_authorization, or undefined when the owner has no file or wrote none. */
export function loadOwnerAuthorization(dataDir: string, owner: string): UserAuthorization | undefined {
  const file = ownerConfigPath(dataDir, owner);
  if (!existsSync(file)) return undefined;
  return parseOwnerConfig(readJsonFile(file), file);
}

/**
 * Replaces the owner's file, atomically and readable by the owner alone. The value is validated
 * first so that an invalid file is never written; undefined writes a file that shares nothing.
 */
export function saveOwnerAuthorization(
  dataDir: string,
  owner: string,
  ua: UserAuthorization | Record<string, string | string[]> | undefined,
): void {
  const file = ownerConfigPath(dataDir, owner);
  const json = ua instanceof UserAuthorization ? ua.toJSON() : ua;
  if (json !== undefined) {
    const checked = userAuthorizationSchema.safeParse(json, { error: plainMessage });
    if (!checked.success) throw new ConfigError(toConfigIssues(file, checked.error, ['WorkflowServer', 'user_authorization']));
  }
  const content = { WorkflowServer: json === undefined ? {} : { user_authorization: json } };
  writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, 0o600);
}
