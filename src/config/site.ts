import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import type { SiteAuthorization } from '../authz/index.js';
import { siteAuthorizationSchema } from './authz-values.js';
import { ConfigError } from './errors.js';
import { readJsonFile } from './json.js';
import { quote } from './names.js';
import { didYouMean } from './suggest.js';
import { nameList, nameSchema, plainMessage, refusedKey, strictObject, toConfigIssues } from './schema-helpers.js';
import { parseScope, ScopeError } from './scopes.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './server-limits.js';

export const DEFAULT_BIND_URL = 'http://127.0.0.1:8000';

export interface RoleConfig {
  name: string;
  description?: string;
  /** Validated scope strings, such as `access:servers!group=ops`; see scopes.ts `parseScope`. */
  scopes: string[];
  users: string[];
  groups: string[];
  /** Names of entries in `JupyterHub.services`. */
  services: string[];
}

/**
 * A JupyterHub-style service: an outside program that calls the hub's API with its own token.
 * With `command` the hub starts it, restarts it after a crash and stops it with itself; without,
 * it runs elsewhere and only `api_token` ties it to the hub.
 */
export interface ServiceConfig {
  name: string;
  /** The token the service presents; undefined for a hub-managed service: the hub makes one. */
  api_token: string | undefined;
  /** argv of a hub-managed service; undefined: the service is not started by the hub. */
  command: string[] | undefined;
  /** Extra environment of a hub-managed service, beside the JUPYTERHUB_* variables. */
  environment: Record<string, string>;
  /** Working directory of a hub-managed service (absolute); undefined: the hub's data_dir. */
  cwd: string | undefined;
}

/** How many sign-in attempts one key may make within one window. */
export interface LoginLimit {
  attempts: number;
  window_seconds: number;
}

/** Sign-in attempts counted per (name, address), per address and per name across addresses. */
export interface LoginLimits {
  per_user_address: LoginLimit;
  per_address: LoginLimit;
  per_user: LoginLimit;
}

/** The site file, keeping its own key names, with defaults filled in and paths made absolute. */
export interface SiteConfig {
  /** Absolute path of the file read, or null for embedded defaults. */
  file: string | null;
  JupyterHub: {
    bind_url: string;
    /** Origins the hub is reached at, for the WebSocket Origin check; undefined: bind_url's (or the address listened on). */
    public_url: string[] | undefined;
    data_dir: string;
    authenticator: {
      htpasswd_file: string;
      admin_users: string[];
      /** Empty: everyone in the htpasswd file may sign in. */
      allowed_users: string[];
      blocked_users: string[];
      login_limits: LoginLimits;
    };
    load_groups: Record<string, { users: string[] }>;
    load_roles: RoleConfig[];
    services: ServiceConfig[];
    /** Seconds; idle_timeout 0 means servers are never culled. `isolation` unset: chosen at hub
     * start (see config/isolation.ts); run_as_owner is the old spelling of isolation "system". */
    spawner: {
      start_timeout: number;
      slow_spawn_timeout: number;
      http_timeout: number;
      poll_interval: number;
      stop_grace: number;
      idle_timeout: number;
      isolation: IsolationMode | undefined;
      dynamic_uids: UidRange;
      run_as_owner: boolean;
    };
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
    /** GraphQL cost budget, response cap, socket and subscription caps of every server. */
    limits: ServerLimits;
    /** Seconds a stalled workflow stays up for someone to act before it stops; 0: for ever. */
    stall_timeout: number;
    /** Where tasks run, by name; `local` is built in (and the default) and is not listed here. */
    platforms: Record<string, PlatformConfig>;
  };
}

/** A place tasks run: this machine (`local`) or a Slurm cluster reached through its commands. */
export type PlatformConfig = LocalPlatformConfig | SlurmPlatformConfig;

export interface LocalPlatformConfig {
  job_runner: 'local';
}

export interface SlurmPlatformConfig {
  job_runner: 'slurm';
  /** sbatch options every job of this platform gets (`{"--partition": "debug"}`); tasks add to them. */
  directives: Record<string, string>;
  /** The Slurm commands (names looked up in PATH, or absolute paths). */
  commands: { sbatch: string; squeue: string; sacct: string; scancel: string; scontrol: string };
  /** Seconds between two looks at the queue (one squeue call for all the platform's jobs). */
  poll_interval: number;
  /** Seconds sbatch may take before the submission counts as failed. */
  submit_timeout: number;
}

/** The platform every task runs on unless it names another; it cannot be redefined. */
export const LOCAL_PLATFORM = 'local';

/**
 * sbatch options the job runner sets itself (where the job's output goes, how it is submitted):
 * a directive may not change them.
 */
const RESERVED_DIRECTIVES = ['--output', '--error', '--input', '--parsable', '--wrap', '--export', '--array', '--chdir'];

const DIRECTIVE_NAME = /^--[a-z][a-z0-9-]*$/;

/** A directive value goes on sbatch's command line as `--name=value` ("" for a bare flag). */
export function directiveProblem(name: string, value: unknown): string | undefined {
  if (!DIRECTIVE_NAME.test(name)) return `${quote(name)} is not an sbatch long option such as "--partition" (two dashes, lower-case letters, digits and "-")`;
  if (RESERVED_DIRECTIVES.includes(name)) return `${name} is set by Flotilla's job runner and cannot be a directive`;
  if (typeof value !== 'string' && typeof value !== 'number') return `the value of ${name} must be a string or a number, got ${quote(value)}`;
  if (/[\0\n\r]/.test(String(value))) return `the value of ${name} must be one line`;
  return undefined;
}

const directivesSchema = z.record(z.string(), z.unknown(), {
  error: (issue) => `expected an object of sbatch options, {"--partition": "debug"}, got ${quote(issue.input)}`,
}).transform((raw, ctx) => {
  const directives: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const problem = directiveProblem(name, value);
    if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    else directives[name] = String(value);
  }
  return directives;
});

const commandPath = (fallback: string) => z.string().min(1).default(fallback);

const localPlatformSchema = strictObject({ job_runner: z.literal('local') });

const slurmPlatformSchema = strictObject({
  job_runner: z.literal('slurm'),
  directives: directivesSchema.default({}),
  commands: strictObject({
    sbatch: commandPath('sbatch'),
    squeue: commandPath('squeue'),
    sacct: commandPath('sacct'),
    scancel: commandPath('scancel'),
    scontrol: commandPath('scontrol'),
  }).prefault({}),
  poll_interval: z.number().positive().default(5),
  submit_timeout: z.number().positive().default(30),
});

const JOB_RUNNERS = ['local', 'slurm'];

const platformSchema = z.unknown().transform((raw, ctx): PlatformConfig => {
  const runner = (raw as { job_runner?: unknown } | null)?.job_runner;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: `expected an object such as {"job_runner": "slurm"}, got ${quote(raw)}` });
    return z.NEVER;
  }
  if (runner !== 'local' && runner !== 'slurm') {
    const hint = typeof runner === 'string' ? didYouMean(runner, JOB_RUNNERS) : '';
    ctx.addIssue({ code: 'custom', path: ['job_runner'], message: `expected "local" or "slurm", got ${quote(runner)}${hint}` });
    return z.NEVER;
  }
  const result = (runner === 'local' ? localPlatformSchema : slurmPlatformSchema).safeParse(raw, { error: plainMessage });
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', path: issue.path as (string | number)[], message: issue.message });
  return z.NEVER;
});

const platformsSchema = z.record(nameSchema('platform name'), platformSchema, {
  error: (issue) => issue.code === 'invalid_type' ? `expected an object of platforms, {"<name>": {"job_runner": "slurm", ...}}, got ${quote(issue.input)}` : undefined,
}).superRefine((platforms, ctx) => {
  if (LOCAL_PLATFORM in platforms) {
    ctx.addIssue({ code: 'custom', path: [LOCAL_PLATFORM], message: `"${LOCAL_PLATFORM}" is built in (tasks run on this machine); give your platform another name` });
  }
}, { when: () => true });

/**
 * Slurm runs a job as the account that submits it, and the workflow server submits. Only under
 * `system` isolation is that account the owner's own, known to the cluster; a dynamic uid is
 * nobody's account there, and under `shared` every owner's jobs would run as the hub's account.
 */
export function slurmIsolationProblem(isolation: IsolationMode): string {
  return `Slurm platforms need JupyterHub.spawner.isolation "system": Slurm runs each job as the account that submits it, ` +
    `which is the owner's own account only under "system". Under "${isolation}" ` +
    (isolation === 'dynamic'
      ? "workflow servers run under uids the hub allocates, which are not accounts the cluster knows"
      : "every owner's jobs would run as the hub's own account") +
    '; set isolation to "system" or remove the Slurm platforms';
}

export function slurmPlatformNames(platforms: Record<string, PlatformConfig>): string[] {
  return Object.entries(platforms).filter(([, p]) => p.job_runner === 'slurm').map(([name]) => name);
}

/** An http(s) URL of scheme, host and port only; `what` names it in errors ("a bind URL"). */
const originUrl = (what: string, example: string) =>
  z.string().superRefine((text, ctx) => {
    const problem = originUrlProblem(text, what, example);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${quote(text)}` });
  });

function originUrlProblem(text: string, what: string, example: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an http:// or https:// URL such as ${quote(example)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.username || url.password) return `${what} carries no user name or password`;
  if (url.pathname !== '/' || url.search || url.hash) return `${what} is scheme, host and port only (no path, query or fragment)`;
  return undefined;
}

const bindUrl = originUrl('a bind URL', 'http://127.0.0.1:8000');
const publicUrl = originUrl('a public URL', 'https://flotilla.example.org');

export type IsolationMode = 'dynamic' | 'system' | 'shared';

/** Uids (and gids, the same numbers) the `dynamic` isolation hands out, both ends included. */
export interface UidRange {
  first: number;
  last: number;
}

/** systemd's DynamicUser range: unused by distributions' static and regular accounts. */
export const DEFAULT_DYNAMIC_UIDS: UidRange = { first: 61184, last: 65519 };
/** Numbers no owner may get: `nobody`, and -1 in 16 bits, which some tools still take as "no uid". */
const RESERVED_UIDS: Record<number, string> = { 65534: 'nobody', 65535: '-1 in 16 bits' };

const uidNumber = z.int().positive().max(4_294_967_294);

const uidRangeSchema = strictObject({ first: uidNumber, last: uidNumber }).superRefine((range, ctx) => {
  if (range.first > range.last) {
    ctx.addIssue({ code: 'custom', path: ['first'], message: `first (${range.first}) must not be greater than last (${range.last})` });
  }
  const reserved = Object.entries(RESERVED_UIDS).filter(([uid]) => range.first <= Number(uid) && Number(uid) <= range.last);
  if (reserved.length) {
    const named = reserved.map(([uid, what]) => `${uid} (${what})`).join(' and ');
    ctx.addIssue({ code: 'custom', message: `the range ${range.first}-${range.last} contains ${named}; choose one that leaves ${reserved.length > 1 ? 'them' : 'it'} out` });
  }
});

const positiveSeconds = (fallback: number) => z.number().positive().default(fallback);

const loginLimit = (attempts: number, windowSeconds: number) =>
  strictObject({ attempts: z.int().positive().default(attempts), window_seconds: positiveSeconds(windowSeconds) }).prefault({});

const loginLimitsSchema = strictObject({
  per_user_address: loginLimit(5, 900),
  per_address: loginLimit(30, 900),
  per_user: loginLimit(50, 900),
}).superRefine((limits, ctx) => {
  // Otherwise the failures of one address alone would refuse the name from everywhere.
  if (limits.per_user.attempts <= limits.per_user_address.attempts) {
    ctx.addIssue({
      code: 'custom',
      path: ['per_user', 'attempts'],
      message: `must be greater than per_user_address.attempts (${limits.per_user_address.attempts}), or one address could lock a name out everywhere`,
    });
  }
});

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

/**
 * custom:workflows:* narrow a token inside workflow servers; in a role they would narrow nothing
 * (a person's own sharing decides there), so a role naming one would promise a limit that is not
 * kept: refused.
 */
const roleScopeSchema = scopeSchema.superRefine((text, ctx) => {
  if (text.startsWith('custom:workflows:')) {
    ctx.addIssue({
      code: 'custom',
      message: `${text} limits a token inside workflow servers and has no meaning in a role; what a person may do there comes from the owners' sharing and site_authorization`,
    });
  }
});

const roleSchema = strictObject({
  name: nameSchema('role name'),
  description: z.string().optional(),
  scopes: z.array(roleScopeSchema),
  users: nameList('user name').default([]),
  groups: nameList('group name').default([]),
  services: nameList('service name').default([]),
});

/** Long enough that guessing is hopeless; JupyterHub's own tokens are 32 hex digits. */
const MIN_API_TOKEN_LENGTH = 16;

const serviceSchema = strictObject({
  name: nameSchema('service name'),
  api_token: z
    .string({ error: (issue) => `expected a token string, got ${quote(issue.input)}` })
    .min(MIN_API_TOKEN_LENGTH, { error: `an api_token must be at least ${MIN_API_TOKEN_LENGTH} characters (openssl rand -hex 32 makes a good one)` })
    .optional(),
  command: z
    .array(z.string().min(1, { error: 'command arguments must not be empty' }), {
      error: (issue) => `expected the command as a list of arguments, such as ["python3", "-m", "my_service"], got ${quote(issue.input)}`,
    })
    .min(1, { error: 'a command needs at least the program to run' })
    .optional(),
  environment: z.record(z.string(), z.string(), { error: (issue) => `expected an object of strings, got ${quote(issue.input)}` }).default({}),
  cwd: z.string().min(1).optional(),
}).superRefine((service, ctx) => {
  if (service.api_token === undefined && service.command === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a service needs an api_token (one that runs elsewhere) or a command (one the hub starts)' });
  }
  for (const key of Object.keys(service.environment)) {
    if (key.startsWith('JUPYTERHUB_')) {
      ctx.addIssue({ code: 'custom', path: ['environment', key], message: `${key} is set by the hub; remove it from environment` });
    }
  }
});

const servicesSchema = z.array(serviceSchema).superRefine(
  (services, ctx) => {
    const firstIndex = new Map<string, number>();
    const tokenIndex = new Map<string, number>();
    services.forEach((service, index) => {
      const name: unknown = service?.name;
      if (typeof name === 'string') {
        const first = firstIndex.get(name);
        if (first === undefined) firstIndex.set(name, index);
        else ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate service name ${quote(name)} (first defined at services[${first}])` });
      }
      const token: unknown = service?.api_token;
      if (typeof token === 'string') {
        const first = tokenIndex.get(token);
        if (first === undefined) tokenIndex.set(token, index);
        else ctx.addIssue({ code: 'custom', path: [index, 'api_token'], message: `services[${first}] has the same api_token; each service needs its own` });
      }
    });
  },
  { when: () => true },
);

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

const limit = (fallback: number) => z.int().positive().default(fallback);

const limitsSchema = strictObject({
  query_cost: limit(DEFAULT_SERVER_LIMITS.query_cost),
  query_fields: limit(DEFAULT_SERVER_LIMITS.query_fields),
  query_depth: limit(DEFAULT_SERVER_LIMITS.query_depth),
  response_bytes: limit(DEFAULT_SERVER_LIMITS.response_bytes),
  subscriptions_per_socket: limit(DEFAULT_SERVER_LIMITS.subscriptions_per_socket),
  sockets_per_user: limit(DEFAULT_SERVER_LIMITS.sockets_per_user),
}).prefault({});

const siteSchema = strictObject({
  JupyterHub: strictObject({
    bind_url: bindUrl.default(DEFAULT_BIND_URL),
    public_url: z
      .union([publicUrl, z.array(publicUrl).min(1)], {
        error: (issue) => (issue.code === 'invalid_union' ? `expected a URL or a list of URLs, got ${quote(issue.input)}` : undefined),
      })
      .optional(),
    data_dir: z.string().min(1).default('data'),
    authenticator: strictObject({
      htpasswd_file: z.string().min(1).optional(),
      admin_users: nameList('user name').default([]),
      allowed_users: nameList('user name').default([]),
      blocked_users: nameList('user name').default([]),
      login_limits: loginLimitsSchema.prefault({}),
    }).prefault({}),
    load_groups: groupsSchema.default({}),
    load_roles: rolesSchema.default([]),
    services: servicesSchema.default([]),
    spawner: strictObject({
      start_timeout: positiveSeconds(60),
      slow_spawn_timeout: z.number().nonnegative().default(1),
      http_timeout: positiveSeconds(30),
      poll_interval: positiveSeconds(30),
      stop_grace: positiveSeconds(10),
      idle_timeout: z.number().nonnegative().default(0),
      isolation: z
        .enum(['dynamic', 'system', 'shared'], { error: (issue) => `expected "dynamic", "system" or "shared", got ${quote(issue.input)}` })
        .optional(),
      dynamic_uids: uidRangeSchema.default(DEFAULT_DYNAMIC_UIDS),
      run_as_owner: z.boolean().default(false),
    }).superRefine((spawner, ctx) => {
      if (spawner.run_as_owner && spawner.isolation !== undefined && spawner.isolation !== 'system') {
        ctx.addIssue({
          code: 'custom',
          path: ['run_as_owner'],
          message: `run_as_owner: true (the old spelling of isolation "system") contradicts isolation "${spawner.isolation}"; remove run_as_owner`,
        });
      }
    }).prefault({}),
    cookie_secret_file: z.string().min(1).optional(),
    cookie_max_age_days: z.number().positive().default(14),
  }).superRefine((hub, ctx) => {
    const known = hub.services.map((service) => service.name);
    hub.load_roles.forEach((role, roleIndex) => {
      role.services.forEach((name, index) => {
        if (!known.includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['load_roles', roleIndex, 'services', index],
            message: `no service named ${quote(name)} in JupyterHub.services${didYouMean(name, known)}`,
          });
        }
      });
    });
  }).prefault({}),
  WorkflowServer: strictObject({
    site_authorization: siteAuthorizationSchema,
    user_authorization: refusedKey(
      'user_authorization belongs in each owner\'s own file, <data_dir>/users/<owner>/jupyter_config.json, not in the site file',
    ),
    system_groups: z.boolean().default(false),
    max_concurrent_jobs: z.int().positive().optional(),
    limits: limitsSchema,
    stall_timeout: z.number().nonnegative().default(3600),
    platforms: platformsSchema.default({}),
  }).prefault({}),
}).superRefine((site, ctx) => {
  // Only an isolation set in this file is known here; an unset one is decided at hub start
  // (chooseIsolation), which refuses Slurm platforms the same way.
  const isolation = site.JupyterHub.spawner.isolation;
  if (isolation === undefined || isolation === 'system') return;
  for (const name of slurmPlatformNames(site.WorkflowServer.platforms)) {
    ctx.addIssue({ code: 'custom', path: ['WorkflowServer', 'platforms', name, 'job_runner'], message: slurmIsolationProblem(isolation) });
  }
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
      public_url: hub.public_url === undefined ? undefined : [hub.public_url].flat().map((url) => new URL(url).origin),
      data_dir: dataDir,
      authenticator: {
        htpasswd_file: hub.authenticator.htpasswd_file === undefined ? resolve(dataDir, 'htpasswd') : resolve(baseDir, hub.authenticator.htpasswd_file),
        admin_users: hub.authenticator.admin_users,
        allowed_users: hub.authenticator.allowed_users,
        blocked_users: hub.authenticator.blocked_users,
        login_limits: hub.authenticator.login_limits,
      },
      load_groups: hub.load_groups,
      load_roles: hub.load_roles.map((role) => ({ ...role })),
      services: hub.services.map((service) => ({
        name: service.name,
        api_token: service.api_token,
        command: service.command,
        environment: service.environment,
        cwd: service.cwd === undefined ? undefined : resolve(baseDir, service.cwd),
      })),
      spawner: { ...hub.spawner, isolation: hub.spawner.isolation, dynamic_uids: { ...hub.spawner.dynamic_uids } },
      cookie_secret_file: hub.cookie_secret_file === undefined ? resolve(dataDir, 'cookie_secret') : resolve(baseDir, hub.cookie_secret_file),
      cookie_max_age_days: hub.cookie_max_age_days,
    },
    WorkflowServer: {
      site_authorization: server.site_authorization,
      system_groups: server.system_groups,
      max_concurrent_jobs: server.max_concurrent_jobs,
      limits: server.limits,
      stall_timeout: server.stall_timeout,
      platforms: server.platforms,
    },
  };
}

/** Reads and validates the site file; without one, the embedded defaults (relative to the cwd). */
export function loadSiteConfig(file?: string): SiteConfig {
  if (file === undefined) return parseSiteConfig({}, null, process.cwd());
  const absolute = resolve(file);
  return parseSiteConfig(readJsonFile(absolute, file), file, dirname(absolute), absolute);
}
