import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { SiteAuthorization } from '../authz/index.js';
import { siteAuthorizationSchema } from './authz-values.js';
import { ConfigError } from './errors.js';
import { readJsonFile } from './json.js';
import { quote } from './names.js';
import { nameList, nameSchema, plainMessage, refusedKey, strictObject, toConfigIssues } from './schema-helpers.js';
import { parseScope, ScopeError } from './scopes.js';

export const DEFAULT_BIND_URL = 'http://127.0.0.1:8000';

export interface RoleConfig {
  name: string;
  description?: string;
  /** Validated scope strings, such as `access:servers!group=ops`; see scopes.ts `parseScope`. */
  scopes: string[];
  users: string[];
  groups: string[];
}

/** The site file, keeping its own key names, with defaults filled in and paths made absolute. */
export interface SiteConfig {
  /** Absolute path of the file read, or null for embedded defaults. */
  file: string | null;
  JupyterHub: {
    bind_url: string;
    data_dir: string;
    authenticator: {
      htpasswd_file: string;
      admin_users: string[];
      /** Empty: everyone in the htpasswd file may sign in. */
      allowed_users: string[];
      blocked_users: string[];
    };
    load_groups: Record<string, { users: string[] }>;
    load_roles: RoleConfig[];
    /** Seconds; idle_timeout 0 means servers are never culled. run_as_owner: each server runs
     * as the system account named like its owner (the hub must run as root). */
    spawner: { start_timeout: number; http_timeout: number; poll_interval: number; stop_grace: number; idle_timeout: number; run_as_owner: boolean };
    cookie_secret_file: string;
    cookie_max_age_days: number;
  };
  WorkflowServer: {
    /** Absent: nobody but an owner can do anything on the owner's server. */
    site_authorization: SiteAuthorization | undefined;
    /** Also take each user's groups from the operating system's account of the same name. */
    system_groups: boolean;
    /** Jobs each workflow runs at once; undefined: the engine's default, twice the number of cores. */
    max_concurrent_jobs: number | undefined;
    /** Seconds a stalled workflow stays up for someone to act before it stops; 0: for ever. */
    stall_timeout: number;
  };
}

const bindUrl = z.string().superRefine((text, ctx) => {
  const problem = bindUrlProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${quote(text)}` });
});

function bindUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an http:// or https:// URL such as "http://127.0.0.1:8000"';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.username || url.password) return 'a bind URL carries no user name or password';
  if (url.pathname !== '/' || url.search || url.hash) return 'a bind URL is scheme, host and port only (no path, query or fragment)';
  return undefined;
}

const positiveSeconds = (fallback: number) => z.number().positive().default(fallback);

const groupsSchema = z.record(nameSchema('group name'), strictObject({ users: nameList('user name').default([]) }), {
  error: (issue) =>
    issue.code === 'invalid_type' ? `expected an object of groups, {"<group>": {"users": [...]}}, got ${quote(issue.input)}` : undefined,
});

const scopeSchema = z.string().superRefine((text, ctx) => {
  try {
    parseScope(text);
  } catch (err) {
    if (!(err instanceof ScopeError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});

const roleSchema = strictObject({
  name: nameSchema('role name'),
  description: z.string().optional(),
  scopes: z.array(scopeSchema),
  users: nameList('user name').default([]),
  groups: nameList('group name').default([]),
});

const rolesSchema = z.array(roleSchema).superRefine(
  (roles, ctx) => {
    const firstIndex = new Map<string, number>();
    roles.forEach((role, index) => {
      // Runs even when some roles are invalid (see `when`), so a role may be only partly there.
      const name: unknown = role?.name;
      if (typeof name !== 'string') return;
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, index);
      else ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate role name ${quote(name)} (first defined at load_roles[${first}])` });
    });
  },
  { when: () => true },
);

const siteSchema = strictObject({
  JupyterHub: strictObject({
    bind_url: bindUrl.default(DEFAULT_BIND_URL),
    data_dir: z.string().min(1).default('data'),
    authenticator: strictObject({
      htpasswd_file: z.string().min(1).optional(),
      admin_users: nameList('user name').default([]),
      allowed_users: nameList('user name').default([]),
      blocked_users: nameList('user name').default([]),
    }).prefault({}),
    load_groups: groupsSchema.default({}),
    load_roles: rolesSchema.default([]),
    spawner: strictObject({
      start_timeout: positiveSeconds(60),
      http_timeout: positiveSeconds(30),
      poll_interval: positiveSeconds(30),
      stop_grace: positiveSeconds(10),
      idle_timeout: z.number().nonnegative().default(0),
      run_as_owner: z.boolean().default(false),
    }).prefault({}),
    cookie_secret_file: z.string().min(1).optional(),
    cookie_max_age_days: z.number().positive().default(14),
  }).prefault({}),
  WorkflowServer: strictObject({
    site_authorization: siteAuthorizationSchema,
    user_authorization: refusedKey(
      'user_authorization belongs in each owner\'s own file, <data_dir>/users/<owner>/jupyter_config.json, not in the site file',
    ),
    system_groups: z.boolean().default(false),
    max_concurrent_jobs: z.int().positive().optional(),
    stall_timeout: z.number().nonnegative().default(3600),
  }).prefault({}),
});

/**
 * Validates a parsed site file. `displayName` is how errors name the file; `baseDir` is where
 * relative paths start (the file's folder, or the working directory for embedded defaults).
 */
export function parseSiteConfig(raw: unknown, displayName: string | null, baseDir: string, file: string | null = null): SiteConfig {
  const result = siteSchema.safeParse(raw, { error: plainMessage, reportInput: false });
  if (!result.success) throw new ConfigError(toConfigIssues(displayName, result.error));
  const { JupyterHub: hub, WorkflowServer: server } = result.data;
  const dataDir = resolve(baseDir, hub.data_dir);
  return {
    file,
    JupyterHub: {
      bind_url: hub.bind_url,
      data_dir: dataDir,
      authenticator: {
        htpasswd_file: hub.authenticator.htpasswd_file === undefined ? resolve(dataDir, 'htpasswd') : resolve(baseDir, hub.authenticator.htpasswd_file),
        admin_users: hub.authenticator.admin_users,
        allowed_users: hub.authenticator.allowed_users,
        blocked_users: hub.authenticator.blocked_users,
      },
      load_groups: hub.load_groups,
      load_roles: hub.load_roles.map((role) => ({ ...role })),
      spawner: hub.spawner,
      cookie_secret_file: hub.cookie_secret_file === undefined ? resolve(dataDir, 'cookie_secret') : resolve(baseDir, hub.cookie_secret_file),
      cookie_max_age_days: hub.cookie_max_age_days,
    },
    WorkflowServer: {
      site_authorization: server.site_authorization,
      system_groups: server.system_groups,
      max_concurrent_jobs: server.max_concurrent_jobs,
      stall_timeout: server.stall_timeout,
    },
  };
}

/** Reads and validates the site file; without one, the embedded defaults (relative to the cwd). */
export function loadSiteConfig(file?: string): SiteConfig {
  if (file === undefined) return parseSiteConfig({}, null, process.cwd());
  const absolute = resolve(file);
  return parseSiteConfig(readJsonFile(absolute, file), file, dirname(absolute), absolute);
}
