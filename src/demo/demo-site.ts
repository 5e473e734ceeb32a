import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveOwnerAuthorization, workflowsDir } from '../config/index.js';
import { HtpasswdFile } from '../htpasswd/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { EXAMPLE_FLOW_YAML, EXAMPLE_WORKFLOW_NAME } from './example-workflow.js';

/**
 * A ready-made site for a newcomer's first `npm start`: the site of jupyter_config.example.json
 * (its users, teams, roles and site_authorization), so what people see matches the
 * documentation, with random passwords, sharing written by three of the owners, and one example
 * workflow each.
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

/** The example site shipped beside the code; the demo is that site, with its data under ./data. */
const EXAMPLE_FILE = fileURLToPath(new URL('../../jupyter_config.example.json', import.meta.url));

interface ExampleSite {
  JupyterHub: {
    authenticator: { admin_users?: string[]; allowed_users?: string[] };
    load_groups?: Record<string, { users?: string[] }>;
    [key: string]: unknown;
  };
  WorkflowServer?: Record<string, unknown>;
}

/**
 * What each demo owner has written on their sharing page, chosen so that the example's site
 * rules show: bob wrote nothing, so the site defaults decide who sees his workflows.
 */
const OWNER_SHARING: Record<string, Record<string, string[]>> = {
  alice: { '*': ['READ'], bob: ['READ', 'CONTROL'] },
  carol: { '*': ['READ'], 'group:ops': ['READ', 'CONTROL'] },
  erin: { '*': ['READ'] },
};

function readExample(): ExampleSite {
  return JSON.parse(readFileSync(EXAMPLE_FILE, 'utf8')) as ExampleSite;
}

/** Everyone the example names: its allowed users, admins and group members. */
function exampleUsers(example: ExampleSite): { users: string[]; admins: string[] } {
  const admins = example.JupyterHub.authenticator.admin_users ?? [];
  const named = new Set([...(example.JupyterHub.authenticator.allowed_users ?? []), ...admins]);
  for (const group of Object.values(example.JupyterHub.load_groups ?? {})) for (const user of group.users ?? []) named.add(user);
  return { users: [...named].sort(), admins };
}

/**
 * The example site with its paths pointed at the demo's data directory, and without its Slurm
 * platform: the demo runs every task on this machine, with no cluster to submit to.
 */
function siteConfiguration(example: ExampleSite, dataDir: string, configDir: string): object {
  const rel = (p: string) => `./${relative(configDir, p) || '.'}`;
  const { platforms: _cluster, ...workflowServer } = example.WorkflowServer ?? {};
  return {
    ...example,
    WorkflowServer: workflowServer,
    JupyterHub: {
      ...example.JupyterHub,
      data_dir: rel(dataDir),
      cookie_secret_file: rel(join(dataDir, 'cookie_secret')),
      authenticator: { ...example.JupyterHub.authenticator, htpasswd_file: rel(join(dataDir, 'htpasswd')) },
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

  const example = readExample();
  const named = exampleUsers(example);
  const users: DemoUser[] = named.users.map((name) => ({ name, password: randomPassword(), admin: named.admins.includes(name) }));
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
  // The site file is the hub's alone (servers get what they need from the hub), as under any isolation.
  writeFileAtomic(configFile, `${JSON.stringify(siteConfiguration(example, dataDir, resolve(configFile, '..')), null, 2)}\n`, 0o600);
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
    '  Start over: stop the hub, run `bin/flotilla stop-servers`, then delete that file and the data directory.',
    '',
  ].join('\n');
}
