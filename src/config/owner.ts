import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserAuthorization, WorkflowAuthorization } from '../authz/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { userAuthorizationSchema, workflowAuthorizationSchema } from './authz-values.js';
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
    workflow_authorization: workflowAuthorizationSchema,
    site_authorization: refusedKey(
      'only the site configuration file can carry site_authorization; an owner\'s file holds user_authorization and workflow_authorization alone',
    ),
  }).optional(),
});

/** What an owner's file says about sharing: server-wide, and per workflow. Either may be absent. */
export interface OwnerSharing {
  user_authorization?: UserAuthorization;
  workflow_authorization?: WorkflowAuthorization;
}

/** Validates a parsed owner file; `displayName` is how errors name the file. */
export function parseOwnerConfig(raw: unknown, displayName: string): OwnerSharing {
  const result = ownerSchema.safeParse(raw, { error: plainMessage });
  if (!result.success) throw new ConfigError(toConfigIssues(displayName, result.error));
  const section = result.data.WorkflowServer;
  return {
    ...(section?.user_authorization ? { user_authorization: section.user_authorization } : {}),
    ...(section?.workflow_authorization ? { workflow_authorization: section.workflow_authorization } : {}),
  };
}

/** The owner's sharing; empty when the owner has no file or wrote neither key. */
export function loadOwnerSharing(dataDir: string, owner: string): OwnerSharing {
  const file = ownerConfigPath(dataDir, owner);
  if (!existsSync(file)) return {};
  return parseOwnerConfig(readJsonFile(file), file);
}

/** The owner's user_authorization, or undefined when the owner has no file or wrote none. */
export function loadOwnerAuthorization(dataDir: string, owner: string): UserAuthorization | undefined {
  return loadOwnerSharing(dataDir, owner).user_authorization;
}

type RawSection = Record<string, string | string[]>;

/**
 * Replaces the owner's file, atomically and readable by the owner alone. The values are validated
 * first so that an invalid file is never written; undefined leaves that key out (a file with
 * neither shares nothing).
 */
export function saveOwnerAuthorization(
  dataDir: string,
  owner: string,
  ua: UserAuthorization | RawSection | undefined,
  wa?: WorkflowAuthorization | Record<string, RawSection>,
): void {
  const file = ownerConfigPath(dataDir, owner);
  const uaJson = ua instanceof UserAuthorization ? ua.toJSON() : ua;
  const waJson = wa instanceof WorkflowAuthorization ? wa.toJSON() : wa;
  const content = {
    WorkflowServer: {
      ...(uaJson === undefined ? {} : { user_authorization: uaJson }),
      ...(waJson === undefined || Object.keys(waJson).length === 0 ? {} : { workflow_authorization: waJson }),
    },
  };
  // The same validation as reading the file back, so what is written always loads.
  parseOwnerConfig(content, file);
  writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, 0o600);
}
