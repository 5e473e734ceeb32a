import { existsSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { ConfigError, type ConfigIssue } from './errors.js';
import { chooseIsolation, SHARED_MODE_WARNING } from './isolation.js';
import { readJsonFile } from './json.js';
import { isValidUserName, isValidWorkflowName, NAME_RULE, quote } from './names.js';
import { ownerConfigPath, parseOwnerConfig, workflowsDir } from './owner.js';
import { LOCAL_PLATFORM, loadSiteConfig, type SiteConfig } from './site.js';
import { readFlowFile } from '../scheduler/flow.js';
import { sharingKeyWarnings, type KnownNames } from '../authz/sharing-warnings.js';
import { HtpasswdFile } from '../htpasswd/index.js';
import { SignInRule } from '../hub/auth/sign-in-rule.js';
import { mergeGroups } from '../hub/groups/merge-groups.js';
import { readRunTimeGroups } from '../hub/groups/read-only-groups.js';
import { errorMessage } from '../util/values.js';

export interface CheckReport {
  /** The site file checked, as named; null for embedded defaults. */
  file: string | null;
  site: SiteConfig | undefined;
  dataDir: string;
  issues: ConfigIssue[];
  /** Not errors, but said out loud: an unsafe isolation, an old key to migrate. */
  warnings: string[];
  counts: { users: number; groups: number; roles: number; owners: number; ownerFiles: number; workflows: number };
}

/**
 * Validates the site file, then every owner's folder under `<data_dir>/users/`: the folder name,
 * the owner's jupyter_config.json, and each workflow folder's name and flow.yaml. Collects every issue.
 */
export function checkConfiguration(file?: string, uid = process.getuid?.()): CheckReport {
  const issues: ConfigIssue[] = [];
  let site: SiteConfig | undefined;
  try {
    site = loadSiteConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  const dataDir = site?.JupyterHub.data_dir ?? dataDirDespiteErrors(file);
  const counts = {
    users: site ? namedUsers(site).size : 0,
    groups: site ? Object.keys(site.JupyterHub.load_groups).length : 0,
    roles: site ? site.JupyterHub.load_roles.length : 0,
    owners: 0,
    ownerFiles: 0,
    workflows: 0,
  };
  const warnings = site ? isolationWarnings(site, uid) : [];
  const known = site ? knownNames(site, warnings) : {};
  const usersDir = join(dataDir, 'users');
  for (const entry of listFolders(usersDir)) {
    if (!isValidUserName(entry)) {
      issues.push({ file: join(usersDir, entry), path: [], message: `${quote(entry)} is not a valid owner name: ${NAME_RULE}` });
      continue;
    }
    counts.owners++;
    const ownerFile = ownerConfigPath(dataDir, entry);
    if (existsSync(ownerFile)) {
      counts.ownerFiles++;
      try {
        const sharing = parseOwnerConfig(readJsonFile(ownerFile), ownerFile);
        warnings.push(...sharingKeyWarnings(Object.keys(sharing.user_authorization?.toJSON() ?? {}), known, `${ownerFile}: user_authorization › `));
        for (const [workflow, section] of Object.entries(sharing.workflow_authorization?.toJSON() ?? {})) {
          warnings.push(...sharingKeyWarnings(Object.keys(section), known, `${ownerFile}: workflow_authorization › ${workflow} › `));
        }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        issues.push(...err.issues);
      }
    }
    const flows = workflowsDir(dataDir, entry);
    for (const workflow of listFolders(flows)) {
      if (!isValidWorkflowName(workflow)) {
        issues.push({ file: join(flows, workflow), path: [], message: `${quote(workflow)} is not a valid workflow name: ${NAME_RULE}` });
        continue;
      }
      counts.workflows++;
      // With an invalid site file its platforms are unknown: platform names go unchecked then.
      const platforms = site ? [LOCAL_PLATFORM, ...Object.keys(site.WorkflowServer.platforms)] : undefined;
      const flowIssue = checkFlowFile(join(flows, workflow, 'flow.yaml'), platforms);
      if (flowIssue) issues.push(flowIssue);
    }
  }
  return { file: file ?? null, site, dataDir, issues, warnings, counts };
}

/**
 * The accounts and groups as the hub would know them, for warnings about sharing keys that name
 * nobody: the htpasswd file's entries that the site lets sign in, and the groups of load_groups
 * and the hub's database, merged as the hub merges them. A part that cannot be read (or, with
 * system_groups, is not all known here) is left unknown, and the reason joins the warnings.
 */
function knownNames(site: SiteConfig, warnings: string[]): KnownNames {
  const known: KnownNames = {};
  const htpasswd = site.JupyterHub.authenticator.htpasswd_file;
  try {
    // No file yet (a site being set up): every name would be unknown, which says nothing.
    if (existsSync(htpasswd)) {
      const rule = new SignInRule(site.JupyterHub.authenticator);
      known.users = new Set([...new HtpasswdFile(htpasswd).accounts().hashes.keys()].filter((name) => rule.admits(name)));
    }
  } catch (err) {
    warnings.push(`sharing keys are not checked against accounts: ${errorMessage(err)}`);
  }
  if (site.WorkflowServer.system_groups) return known;
  try {
    known.groups = new Set(mergeGroups({ config: site.JupyterHub.load_groups, stored: readRunTimeGroups(site.JupyterHub.data_dir) }).keys());
  } catch (err) {
    warnings.push(`sharing keys are not checked against groups: ${errorMessage(err)}`);
  }
  return known;
}

/** A flow.yaml's first problem, named `file:line:column` as editors and the workflow page show it. */
function checkFlowFile(flowFile: string, platforms: string[] | undefined): ConfigIssue | undefined {
  const result = readFlowFile(flowFile, flowFile, platforms);
  if (result.ok) return undefined;
  const { line, column, message } = result.error;
  return { file: line === undefined ? flowFile : `${flowFile}:${line}:${column ?? 1}`, path: [], message };
}

/** The isolation a hub started by this same account would run, when it is worth a warning. */
function isolationWarnings(site: SiteConfig, uid: number | undefined): string[] {
  const choice = chooseIsolation(site.JupyterHub.spawner, uid);
  const warnings = choice.migrate ? [choice.migrate] : [];
  const asUid = `for a hub started as uid ${uid ?? 'unknown'}`;
  if (choice.refused) warnings.push(`${asUid}, the start would be refused: ${choice.refused}`);
  else if (choice.mode === 'shared') warnings.push(`${asUid}, ${SHARED_MODE_WARNING}`);
  return warnings;
}

/** Everyone the site file names, in any list. */
function namedUsers(site: SiteConfig): Set<string> {
  const hub = site.JupyterHub;
  return new Set([
    ...hub.authenticator.admin_users,
    ...hub.authenticator.allowed_users,
    ...hub.authenticator.blocked_users,
    ...Object.values(hub.load_groups).flatMap((group) => group.users),
    ...hub.load_roles.flatMap((role) => role.users),
  ]);
}

/** With an invalid site file, owners are still checked, under the data_dir it names if it names one. */
function dataDirDespiteErrors(file: string | undefined): string {
  if (file === undefined) return resolve('data');
  try {
    const raw = readJsonFile(file) as { JupyterHub?: { data_dir?: unknown } } | null;
    const named = raw?.JupyterHub?.data_dir;
    return resolve(dirname(resolve(file)), typeof named === 'string' && named !== '' ? named : 'data');
  } catch {
    return resolve(dirname(resolve(file)), 'data');
  }
}

function listFolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}
