import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SiteAuthorization } from '../../src/authz/index.js';
import { ConfigError, loadSiteConfig, parseSiteConfig } from '../../src/config/index.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/server/limits.js';
import { REPO } from './run-flotilla.js';

/** The full error text for a site file holding `raw`, named `jupyter_config.json`. */
function problems(raw: unknown): string[] {
  try {
    parseSiteConfig(raw, 'jupyter_config.json', '/srv/hub');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('site configuration defaults', () => {
  it('fills every default and resolves paths against the working directory without a file', () => {
    const cfg = loadSiteConfig();
    const data = resolve('data');
    expect(cfg).toEqual({
      file: null,
      JupyterHub: {
        bind_url: 'http://127.0.0.1:8000',
        public_url: undefined,
        data_dir: data,
        authenticator: {
          htpasswd_file: join(data, 'htpasswd'),
          admin_users: [],
          allowed_users: [],
          blocked_users: [],
          login_limits: {
            per_user_address: { attempts: 5, window_seconds: 900 },
            per_address: { attempts: 30, window_seconds: 900 },
            per_user: { attempts: 50, window_seconds: 900 },
          },
        },
        load_groups: {},
        load_roles: [],
        services: [],
        spawner: {
          start_timeout: 60,
          slow_spawn_timeout: 1,
          http_timeout: 30,
          poll_interval: 30,
          stop_grace: 10,
          idle_timeout: 0,
          isolation: undefined,
          dynamic_uids: { first: 61184, last: 65519 },
          run_as_owner: false,
        },
        cookie_secret_file: join(data, 'cookie_secret'),
        cookie_max_age_days: 14,
      },
      WorkflowServer: { site_authorization: undefined, system_groups: false, max_concurrent_jobs: undefined, limits: DEFAULT_SERVER_LIMITS, stall_timeout: 3600, platforms: {} },
    });
  });

  it('fills defaults inside partly written sections', () => {
    const cfg = parseSiteConfig({ JupyterHub: { spawner: { start_timeout: 5 }, authenticator: { admin_users: ['erin'] } } }, 'f', '/srv/hub');
    expect(cfg.JupyterHub.spawner).toMatchObject({ start_timeout: 5, http_timeout: 30, poll_interval: 30, stop_grace: 10, idle_timeout: 0, run_as_owner: false });
    expect(cfg.JupyterHub.authenticator.admin_users).toEqual(['erin']);
    expect(cfg.JupyterHub.authenticator.allowed_users).toEqual([]);
    expect(cfg.JupyterHub.load_groups).toEqual({});
  });

  it('takes run_as_owner as a boolean, off unless set, and names the key when it is not one', () => {
    expect(parseSiteConfig({}, 'f', '/srv/hub').JupyterHub.spawner.run_as_owner).toBe(false);
    expect(parseSiteConfig({ JupyterHub: { spawner: { run_as_owner: true } } }, 'f', '/srv/hub').JupyterHub.spawner.run_as_owner).toBe(true);
    expect(problems({ JupyterHub: { spawner: { run_as_owner: 'yes' } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › run_as_owner: expected a boolean, got "yes"',
    ]);
  });

  it('takes isolation as one of three words, unset unless given, naming the key otherwise', () => {
    const isolation = (spawner: object) => parseSiteConfig({ JupyterHub: { spawner } }, 'f', '/srv/hub').JupyterHub.spawner.isolation;
    expect(isolation({})).toBeUndefined();
    for (const mode of ['dynamic', 'system', 'shared']) expect(isolation({ isolation: mode })).toBe(mode);
    expect(problems({ JupyterHub: { spawner: { isolation: 'root' } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › isolation: expected "dynamic", "system" or "shared", got "root"',
    ]);
  });

  it('refuses run_as_owner together with an isolation other than system, naming both keys', () => {
    expect(problems({ JupyterHub: { spawner: { run_as_owner: true, isolation: 'dynamic' } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › run_as_owner: run_as_owner: true (the old spelling of isolation "system") contradicts isolation "dynamic"; remove run_as_owner',
    ]);
    expect(parseSiteConfig({ JupyterHub: { spawner: { run_as_owner: true, isolation: 'system' } } }, 'f', '/srv/hub').JupyterHub.spawner.isolation).toBe('system');
  });

  it('takes dynamic_uids as a range of positive uids that leaves nobody out', () => {
    const range = { first: 100000, last: 100999 };
    expect(parseSiteConfig({ JupyterHub: { spawner: { dynamic_uids: range } } }, 'f', '/srv/hub').JupyterHub.spawner.dynamic_uids).toEqual(range);
    expect(problems({ JupyterHub: { spawner: { dynamic_uids: { first: 5000, last: 4000 } } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › dynamic_uids › first: first (5000) must not be greater than last (4000)',
    ]);
    expect(problems({ JupyterHub: { spawner: { dynamic_uids: { first: 0, last: 10 } } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › dynamic_uids › first: expected a number greater than 0, got 0',
    ]);
    expect(problems({ JupyterHub: { spawner: { dynamic_uids: { first: 65000, last: 66000 } } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › dynamic_uids: the range 65000-66000 contains 65534 (nobody) and 65535 (-1 in 16 bits); choose one that leaves them out',
    ]);
    expect(problems({ JupyterHub: { spawner: { dynamic_uids: { first: 70000 } } } })).toEqual([
      'jupyter_config.json: JupyterHub › spawner › dynamic_uids › last: expected a number, got nothing',
    ]);
  });

  it('fills the sign-in limits a site leaves out, and checks those it gives with their key paths', () => {
    const cfg = parseSiteConfig({ JupyterHub: { authenticator: { login_limits: { per_user: { attempts: 100 } } } } }, 'f', '/srv/hub');
    expect(cfg.JupyterHub.authenticator.login_limits).toEqual({
      per_user_address: { attempts: 5, window_seconds: 900 },
      per_address: { attempts: 30, window_seconds: 900 },
      per_user: { attempts: 100, window_seconds: 900 },
    });
    expect(problems({ JupyterHub: { authenticator: { login_limits: { per_address: { attempts: 2.5, window_seconds: 0 }, per_ip: {} } } } })).toEqual([
      'jupyter_config.json: JupyterHub › authenticator › login_limits › per_address › attempts: expected an integer, got 2.5',
      'jupyter_config.json: JupyterHub › authenticator › login_limits › per_address › window_seconds: expected a number greater than 0, got 0',
      'jupyter_config.json: JupyterHub › authenticator › login_limits: unknown key "per_ip" (allowed here: per_user_address, per_address, per_user)',
    ]);
    expect(problems({ JupyterHub: { authenticator: { login_limits: { per_user_address: { attempts: 10 }, per_user: { attempts: 10 } } } } })).toEqual([
      'jupyter_config.json: JupyterHub › authenticator › login_limits › per_user › attempts: must be greater than per_user_address.attempts (10), or one address could lock a name out everywhere',
    ]);
  });

  it('resolves relative paths against the config folder; defaults sit under data_dir', () => {
    const cfg = parseSiteConfig({ JupyterHub: { data_dir: 'state', authenticator: { htpasswd_file: '../etc/users.htpasswd' } } }, 'f', '/srv/hub');
    expect(cfg.JupyterHub.data_dir).toBe('/srv/hub/state');
    expect(cfg.JupyterHub.authenticator.htpasswd_file).toBe('/srv/etc/users.htpasswd');
    expect(cfg.JupyterHub.cookie_secret_file).toBe('/srv/hub/state/cookie_secret');
    const absolute = parseSiteConfig({ JupyterHub: { data_dir: '/var/lib/flotilla', cookie_secret_file: 'secret' } }, 'f', '/srv/hub');
    expect(absolute.JupyterHub.data_dir).toBe('/var/lib/flotilla');
    expect(absolute.JupyterHub.authenticator.htpasswd_file).toBe('/var/lib/flotilla/htpasswd');
    expect(absolute.JupyterHub.cookie_secret_file).toBe('/srv/hub/secret');
  });
});

describe('loading a site file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-site-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the absolute file and resolves against its folder', () => {
    mkdirSync(join(dir, 'etc'));
    const file = join(dir, 'etc', 'jupyter_config.json');
    writeFileSync(file, JSON.stringify({ JupyterHub: { data_dir: '../var' } }));
    const cfg = loadSiteConfig(file);
    expect(cfg.file).toBe(file);
    expect(cfg.JupyterHub.data_dir).toBe(join(dir, 'var'));
  });

  it('names the file as given in errors', () => {
    const file = join(dir, 'jupyter_config.json');
    writeFileSync(file, JSON.stringify({ JupyterHub: { bind_ur: 'http://x' } }));
    expect(() => loadSiteConfig(file)).toThrow(`${file}: JupyterHub: unknown key "bind_ur"; did you mean "bind_url"?`);
  });

  it('reports malformed JSON with line and column', () => {
    const file = join(dir, 'jupyter_config.json');
    writeFileSync(file, '{\n  "JupyterHub": {\n    "data_dir": "d"\n    "bind_url": "http://x"\n  }\n}\n');
    expect(() => loadSiteConfig(file)).toThrow(`${file}: malformed JSON at line 4, column 5: unexpected character "\\""; expected "," or "}"`);
  });

  it('reports a missing file', () => {
    expect(() => loadSiteConfig(join(dir, 'nope.json'))).toThrow(`${join(dir, 'nope.json')}: cannot read the file: no such file`);
  });

  it('accepts the example configuration shipped with the project', () => {
    const cfg = loadSiteConfig(join(REPO, 'jupyter_config.example.json'));
    expect(cfg.JupyterHub.authenticator.admin_users).toEqual(['erin']);
    expect(Object.keys(cfg.JupyterHub.load_groups)).toEqual(['physics', 'ops']);
    expect(cfg.JupyterHub.load_roles.find((role) => role.name === 'user')?.scopes).toEqual(['self', 'access:servers']);
    expect(cfg.WorkflowServer.site_authorization).toBeInstanceOf(SiteAuthorization);
    expect(cfg.JupyterHub.data_dir).toBe(join(REPO, 'data'));
  });
});

describe('site configuration errors', () => {
  it('refuses unknown keys, suggesting the nearest', () => {
    expect(problems({ JupyterHb: {} })).toEqual(['jupyter_config.json: unknown key "JupyterHb"; did you mean "JupyterHub"?']);
    expect(problems({ JupyterHub: { authenticator: { admin_user: [] } } })).toEqual([
      'jupyter_config.json: JupyterHub › authenticator: unknown key "admin_user"; did you mean "admin_users"?',
    ]);
    expect(problems({ WorkflowServer: { colour: 'blue' } })).toEqual([
      'jupyter_config.json: WorkflowServer: unknown key "colour" (allowed here: site_authorization, user_authorization, system_groups, max_concurrent_jobs, limits, stall_timeout, platforms)',
    ]);
  });

  it('checks WorkflowServer.limits key by key, keeping the defaults of those left out', () => {
    expect(problems({ WorkflowServer: { limits: { query_cots: 5 } } })).toEqual([
      'jupyter_config.json: WorkflowServer › limits: unknown key "query_cots"; did you mean "query_cost"?',
    ]);
    expect(problems({ WorkflowServer: { limits: { query_cost: 0, sockets_per_user: 2.5, subscriptions_per_socket: '10' } } })).toEqual([
      'jupyter_config.json: WorkflowServer › limits › query_cost: expected a number greater than 0, got 0',
      'jupyter_config.json: WorkflowServer › limits › subscriptions_per_socket: expected a number, got "10"',
      'jupyter_config.json: WorkflowServer › limits › sockets_per_user: expected an integer, got 2.5',
    ]);
    const { limits } = parseSiteConfig({ WorkflowServer: { limits: { response_bytes: 4096 } } }, 'f', '/').WorkflowServer;
    expect(limits).toEqual({ ...DEFAULT_SERVER_LIMITS, response_bytes: 4096 });
  });

  it('refuses user_authorization in the site file, pointing at the owner files', () => {
    expect(problems({ WorkflowServer: { user_authorization: { '*': ['READ'] } } })).toEqual([
      "jupyter_config.json: WorkflowServer › user_authorization: user_authorization belongs in each owner's own file, <data_dir>/users/<owner>/jupyter_config.json, not in the site file",
    ]);
  });

  it('names the list index of a bad user name and says what it got', () => {
    expect(problems({ JupyterHub: { authenticator: { admin_users: ['erin', 'bob', 42] } } })).toEqual([
      'jupyter_config.json: JupyterHub › authenticator › admin_users[2]: expected a user name, got 42',
    ]);
    expect(problems({ JupyterHub: { authenticator: { blocked_users: ['../root'] } } })).toEqual([
      'jupyter_config.json: JupyterHub › authenticator › blocked_users[0]: "../root" is not a valid user name: names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit',
    ]);
    expect(problems({ JupyterHub: { authenticator: { allowed_users: 'alice' } } })).toEqual([
      'jupyter_config.json: JupyterHub › authenticator › allowed_users: expected a list of user names, got "alice"',
    ]);
  });

  it('checks group names, their shape and their members', () => {
    expect(problems({ JupyterHub: { load_groups: { 'bad/name': { users: [] }, ops: { users: ['ok', ''] }, x: { members: [] }, y: [] } } })).toEqual([
      'jupyter_config.json: JupyterHub › load_groups › bad/name: "bad/name" is not a valid group name: names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit',
      'jupyter_config.json: JupyterHub › load_groups › ops › users[1]: "" is not a valid user name: names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit',
      'jupyter_config.json: JupyterHub › load_groups › x: unknown key "members" (allowed here: users)',
      'jupyter_config.json: JupyterHub › load_groups › y: expected an object, got []',
    ]);
    expect(problems({ JupyterHub: { load_groups: ['ops'] } })).toEqual([
      'jupyter_config.json: JupyterHub › load_groups: expected an object of groups, {"<group>": {"users": [...]}}, got ["ops"]',
    ]);
  });

  it('refuses custom:workflows:* in a role, where it would limit nothing', () => {
    expect(problems({ JupyterHub: { load_roles: [{ name: 'watchers', scopes: ['access:servers', 'custom:workflows:read'], users: ['bob'] }] } })).toEqual([
      "jupyter_config.json: JupyterHub › load_roles[0] › scopes[1]: custom:workflows:read limits a token inside workflow servers and has no meaning in a role; what a person may do there comes from the owners' sharing and site_authorization",
    ]);
  });

  it('checks roles: names, scopes, filters, members and uniqueness', () => {
    const lines = problems({
      JupyterHub: {
        load_roles: [
          { name: 'user', scopes: ['self', 'access:servers'] },
          { name: 'support', scopes: ['acces:servers', 'servers!usr=bob', 'servers!user=../x', 'read:servers!group='], groups: ['ops', 7] },
          { name: 'user', scopes: [], users: ['alice'] },
          { scopes: ['tokens'], colour: 'red' },
        ],
      },
    });
    expect(lines).toEqual([
      'jupyter_config.json: JupyterHub › load_roles[1] › scopes[0]: unknown scope "acces:servers"; did you mean "access:servers"? (docs/jupyterhub-compatibility.md lists the scopes)',
      'jupyter_config.json: JupyterHub › load_roles[1] › scopes[1]: unknown filter "!usr=bob" on scope "servers"; did you mean "user"?; filters are !user=NAME, !group=NAME, !server=USER/, !service=NAME, and !user, !server, !service for the holder',
      'jupyter_config.json: JupyterHub › load_roles[1] › scopes[2]: filter "!user=" on scope "servers" needs a valid user name, got "../x": names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit',
      'jupyter_config.json: JupyterHub › load_roles[1] › scopes[3]: filter "!group=" on scope "read:servers" needs a valid group name, got "": names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit',
      'jupyter_config.json: JupyterHub › load_roles[1] › groups[1]: expected a group name, got 7',
      'jupyter_config.json: JupyterHub › load_roles[3] › name: expected a role name, got nothing',
      'jupyter_config.json: JupyterHub › load_roles[3]: unknown key "colour" (allowed here: name, description, scopes, users, groups, services)',
      'jupyter_config.json: JupyterHub › load_roles[2] › name: duplicate role name "user" (first defined at load_roles[0])',
    ]);
    expect(problems({ JupyterHub: { load_roles: [{ name: 'a', scopes: ['self'] }, { name: 'a', scopes: ['tokens'] }] } })).toEqual([
      'jupyter_config.json: JupyterHub › load_roles[1] › name: duplicate role name "a" (first defined at load_roles[0])',
    ]);
  });

  it('accepts every known scope with and without filters, and roles naming unknown groups', () => {
    const cfg = parseSiteConfig(
      {
        JupyterHub: {
          load_roles: [
            { name: 'r', description: 'd', scopes: ['admin:users', 'admin:groups', 'tokens!user=bob', 'access:servers!group=nobody-has-this'], groups: ['ghosts'] },
          ],
        },
      },
      'f',
      '/',
    );
    expect(cfg.JupyterHub.load_roles).toEqual([
      { name: 'r', description: 'd', scopes: ['admin:users', 'admin:groups', 'tokens!user=bob', 'access:servers!group=nobody-has-this'], users: [], groups: ['ghosts'], services: [] },
    ]);
  });

  it('checks bind_url', () => {
    expect(problems({ JupyterHub: { bind_url: 'localhost:8000' } })).toEqual([
      'jupyter_config.json: JupyterHub › bind_url: expected an http:// or https:// URL, got "localhost:8000"',
    ]);
    expect(problems({ JupyterHub: { bind_url: 'not a url' } })).toEqual([
      'jupyter_config.json: JupyterHub › bind_url: expected an http:// or https:// URL such as "http://127.0.0.1:8000", got "not a url"',
    ]);
    expect(problems({ JupyterHub: { bind_url: 'http://0.0.0.0:8000/hub/' } })).toEqual([
      'jupyter_config.json: JupyterHub › bind_url: a bind URL is scheme, host and port only (no path, query or fragment), got "http://0.0.0.0:8000/hub/"',
    ]);
    expect(parseSiteConfig({ JupyterHub: { bind_url: 'https://[::1]:8443' } }, 'f', '/').JupyterHub.bind_url).toBe('https://[::1]:8443');
  });

  it('checks public_url and keeps origins only', () => {
    expect(problems({ JupyterHub: { public_url: 'ftp://x' } })).toEqual(['jupyter_config.json: JupyterHub › public_url: expected an http:// or https:// URL, got "ftp://x"']);
    expect(problems({ JupyterHub: { public_url: ['https://a.example', 'https://b.example/hub/'] } })).toEqual([
      'jupyter_config.json: JupyterHub › public_url[1]: a public URL is scheme, host and port only (no path, query or fragment), got "https://b.example/hub/"',
    ]);
    expect(problems({ JupyterHub: { public_url: 42 } })).toEqual(['jupyter_config.json: JupyterHub › public_url: expected a URL or a list of URLs, got 42']);
    expect(problems({ JupyterHub: { public_url: [] } })).toEqual(['jupyter_config.json: JupyterHub › public_url: expected at least 1 item(s)']);
    const one = parseSiteConfig({ JupyterHub: { public_url: 'https://Flotilla.Example.org:443/' } }, 'f', '/');
    expect(one.JupyterHub.public_url).toEqual(['https://flotilla.example.org']);
    const two = parseSiteConfig({ JupyterHub: { public_url: ['http://localhost:8000', 'https://x.example'] } }, 'f', '/');
    expect(two.JupyterHub.public_url).toEqual(['http://localhost:8000', 'https://x.example']);
  });

  it('checks numbers and types', () => {
    expect(
      problems({
        JupyterHub: { spawner: { start_timeout: 0, slow_spawn_timeout: -1, http_timeout: -1, idle_timeout: -5, poll_interval: '30' }, cookie_max_age_days: 0, data_dir: '' },
        WorkflowServer: { max_concurrent_jobs: 1.5, system_groups: 'yes', stall_timeout: -1 },
      }),
    ).toEqual([
      'jupyter_config.json: JupyterHub › data_dir: must not be empty',
      'jupyter_config.json: JupyterHub › spawner › start_timeout: expected a number greater than 0, got 0',
      'jupyter_config.json: JupyterHub › spawner › slow_spawn_timeout: expected a number of at least 0, got -1',
      'jupyter_config.json: JupyterHub › spawner › http_timeout: expected a number greater than 0, got -1',
      'jupyter_config.json: JupyterHub › spawner › poll_interval: expected a number, got "30"',
      'jupyter_config.json: JupyterHub › spawner › idle_timeout: expected a number of at least 0, got -5',
      'jupyter_config.json: JupyterHub › cookie_max_age_days: expected a number greater than 0, got 0',
      'jupyter_config.json: WorkflowServer › system_groups: expected a boolean, got "yes"',
      'jupyter_config.json: WorkflowServer › max_concurrent_jobs: expected an integer, got 1.5',
      'jupyter_config.json: WorkflowServer › stall_timeout: expected a number of at least 0, got -1',
    ]);
    expect(problems([])).toEqual(['jupyter_config.json: expected an object, got []']);
    expect(problems({ JupyterHub: null })).toEqual(['jupyter_config.json: JupyterHub: expected an object, got null']);
  });

  it('folds site_authorization issues from authz in, at their path', () => {
    const lines = problems({
      WorkflowServer: {
        site_authorization: {
          'group:owners': { 'group:ops': { limit: ['!stpo'] } },
          '*': { '*': { defualt: 'READ' } },
        },
      },
    });
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(/^jupyter_config\.json: WorkflowServer › site_authorization › group:owners › group:ops › limit: unknown permission "!stpo"; did you mean "!stop"\?$/);
    expect(lines[1]).toMatch(/^jupyter_config\.json: WorkflowServer › site_authorization › \* › \* › defualt: unknown key "defualt"; did you mean "default"\?/);
  });

  it('reports every problem at once', () => {
    const lines = problems({
      JupyterHub: { bind_url: 'ftp://x', authenticator: { admin_users: [1] }, spawner: { stop_grace: -1 } },
      WorkflowServer: { site_authorization: { '*': { '*': { default: [] } } } },
    });
    expect(lines.length).toBe(4);
  });
});

describe('site configuration: services', () => {
  it('keeps a service as written, with cwd made absolute, and lets roles name it', () => {
    const cfg = parseSiteConfig(
      {
        JupyterHub: {
          services: [{ name: 'idle-culler', command: ['python3', '-m', 'jupyterhub_idle_culler'], cwd: 'services', environment: { A: 'b' } }],
          load_roles: [{ name: 'culler', scopes: ['list:users'], services: ['idle-culler'] }],
        },
      },
      'jupyter_config.json',
      '/etc/flotilla',
    );
    expect(cfg.JupyterHub.services).toEqual([
      { name: 'idle-culler', api_token: undefined, command: ['python3', '-m', 'jupyterhub_idle_culler'], environment: { A: 'b' }, cwd: '/etc/flotilla/services' },
    ]);
    expect(cfg.JupyterHub.load_roles[0]?.services).toEqual(['idle-culler']);
  });

  it('names every mistake: neither token nor command, short or shared tokens, hub variables, duplicates, unknown services in roles', () => {
    const token = 'x'.repeat(32);
    const found = problems({
      JupyterHub: {
        services: [
          { name: 'a' },
          { name: 'b', api_token: 'short' },
          { name: 'c', api_token: token, environment: { JUPYTERHUB_API_TOKEN: 't' } },
          { name: 'd', api_token: token },
          { name: 'a', command: [] },
        ],
        load_roles: [{ name: 'r', scopes: ['list:users'], services: ['culer', 'd'] }],
      },
    }).map((line) => line.replace('jupyter_config.json: JupyterHub › ', ''));
    expect(found).toEqual(
      expect.arrayContaining([
        'services[0]: a service needs an api_token (one that runs elsewhere) or a command (one the hub starts)',
        'services[1] › api_token: an api_token must be at least 16 characters (openssl rand -hex 32 makes a good one)',
        'services[2] › environment › JUPYTERHUB_API_TOKEN: JUPYTERHUB_API_TOKEN is set by the hub; remove it from environment',
        'services[3] › api_token: services[2] has the same api_token; each service needs its own',
        'services[4] › command: a command needs at least the program to run',
        'services[4] › name: duplicate service name "a" (first defined at services[0])',
      ]),
    );
  });

  it('refuses a role that names a service the file does not define', () => {
    expect(
      problems({
        JupyterHub: {
          services: [{ name: 'culler', api_token: 'y'.repeat(32) }],
          load_roles: [{ name: 'r', scopes: ['list:users'], services: ['culer', 'culler'] }],
        },
      }),
    ).toEqual(['jupyter_config.json: JupyterHub › load_roles[0] › services[0]: no service named "culer" in JupyterHub.services; did you mean "culler"?']);
  });
});
