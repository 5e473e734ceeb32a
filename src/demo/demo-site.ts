import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { saveOwnerAuthorization, workflowsDir } from '../config/index.js';
import { HtpasswdFile } from '../htpasswd/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { EXAMPLE_FLOW_YAML, EXAMPLE_WORKFLOW_NAME } from './example-workflow.js';

/**
 * A ready-made site for a newcomer's first `npm start`: a handful of users with random
 * passwords, two teams, sharing enabled by the site and used by two of the owners, and one
 * example workflow each. It mirrors jupyter_config.example.json so what people see matches
 * the documentation.
 */
export interface DemoUser {
  name: string;
  password: string;
  admin: boolean;
}

export interface DemoSite {
  configFile: string;
  credentialsFile: string;
  users: DemoUser[];
}

const TEAMS: Record<string, string[]> = {
  physics: ['alice', 'bob'],
  ops: ['carol', 'erin'],
};
const ADMINS = ['erin'];
const USERS = ['alice', 'bob', 'carol', 'erin'];

/** What each demo owner has written on their sharing page. bob wrote nothing: site defaults apply to him. */
const OWNER_SHARING: Record<string, Record<string, string[]>> = {
  alice: { '*': ['READ'], bob: ['READ', 'CONTROL'] },
  carol: { '*': ['READ'], 'group:ops': ['READ', 'CONTROL'] },
  erin: { '*': ['READ'] },
};

function siteConfiguration(dataDir: string, configDir: string): object {
  const rel = (p: string) => `./${relative(configDir, p) || '.'}`;
  return {
    JupyterHub: {
      bind_url: 'http://127.0.0.1:8000',
      data_dir: rel(dataDir),
      authenticator: {
        htpasswd_file: rel(join(dataDir, 'htpasswd')),
        admin_users: ADMINS,
        allowed_users: [],
        blocked_users: [],
      },
      load_groups: Object.fromEntries(Object.entries(TEAMS).map(([group, users]) => [group, { users }])),
      load_roles: [
        {
          name: 'user',
          description: 'Every user: their own server, and reaching (not starting) everyone else\'s',
          scopes: ['self', 'access:servers', 'read:servers'],
        },
      ],
    },
    WorkflowServer: {
      site_authorization: {
        '*': { '*': { default: 'READ', limit: ['READ', 'CONTROL'] } },
        'group:physics': { 'group:physics': { default: ['READ', 'CONTROL'] } },
      },
    },
  };
}

function randomPassword(): string {
  // 15 random bytes → 20 URL-safe characters: easy to copy, far beyond guessing.
  return randomBytes(15).toString('base64url');
}

/** True when the hub runs on embedded defaults and nobody has been set up yet. */
export function demoSiteWanted(options: { configGiven: boolean; htpasswdFile: string }): boolean {
  return !options.configGiven && !existsSync(options.htpasswdFile);
}

/**
 * Writes the demo site: htpasswd file, a 0600 credentials file, owners' sharing files, one
 * example workflow per user, and the site configuration at `configFile`, which later starts
 * pick up as the default `./jupyter_config.json`. Refuses to overwrite an existing
 * configuration or htpasswd file.
 */
export async function createDemoSite(options: { dataDir: string; configFile: string }): Promise<DemoSite> {
  const dataDir = resolve(options.dataDir);
  const configFile = resolve(options.configFile);
  const htpasswdPath = join(dataDir, 'htpasswd');
  for (const path of [configFile, htpasswdPath]) {
    if (existsSync(path)) throw new Error(`refusing to create a demo site: ${path} already exists`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const users: DemoUser[] = USERS.map((name) => ({ name, password: randomPassword(), admin: ADMINS.includes(name) }));
  // Cost 10 keeps the first start quick; real accounts added with `flotilla passwd` get cost 12.
  const htpasswd = new HtpasswdFile(htpasswdPath);
  for (const user of users) await htpasswd.add(user.name, user.password, 10);

  for (const user of users) {
    const dir = join(workflowsDir(dataDir, user.name), EXAMPLE_WORKFLOW_NAME);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(dir, 'flow.yaml'), EXAMPLE_FLOW_YAML, 0o644);
    const sharing = OWNER_SHARING[user.name];
    if (sharing) saveOwnerAuthorization(dataDir, user.name, sharing);
  }

  const credentialsFile = join(dataDir, 'demo-credentials.txt');
  const lines = [
    '# Flotilla demo accounts (created by the first `npm start`). Delete this file once noted.',
    ...users.map((u) => `${u.name}\t${u.password}${u.admin ? '\t(admin)' : ''}`),
  ];
  writeFileAtomic(credentialsFile, `${lines.join('\n')}\n`, 0o600);
  writeFileAtomic(configFile, `${JSON.stringify(siteConfiguration(dataDir, resolve(configFile, '..')), null, 2)}\n`, 0o644);
  return { configFile, credentialsFile, users };
}

/** The banner printed once to the terminal. */
export function describeDemoSite(site: DemoSite, hubUrl: string): string {
  const width = Math.max(...site.users.map((u) => u.name.length));
  return [
    '',
    '  Flotilla demo site created (no configuration was given and no accounts existed).',
    `  Sign in at ${hubUrl}/hub/login with one of these accounts:`,
    '',
    ...site.users.map((u) => `    ${u.name.padEnd(width)}  ${u.password}${u.admin ? '   (admin)' : ''}`),
    '',
    `  The passwords are also in ${site.credentialsFile} (mode 0600); they are not shown again.`,
    `  The site configuration was written to ${site.configFile}; later starts use it.`,
    '  Start over: stop the hub, delete that file and the data directory.',
    '',
  ].join('\n');
}
