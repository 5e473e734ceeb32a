/**
 * What workflow servers get of the site file: its `WorkflowServer` section, read and validated by
 * the hub and pushed to them (see identity/launch.ts). Servers never read the site file: under
 * isolation they cannot, and it holds things (service tokens, paths of the hub's secrets) that
 * are not theirs to see.
 */
import { dirname } from 'node:path';
import { parseSiteConfig } from '../config/index.js';
import { readJsonFile } from '../config/json.js';
import type { SiteSettings } from '../identity/launch.js';
import type { Logger } from '../util/logger.js';
import { isPlainObject, errorMessage } from '../util/values.js';
import { watchFile, type FileWatch } from '../util/watch-file.js';

/** The settings in `file` now (null: embedded defaults), or why servers must deny everyone. */
export function readSiteSettings(file: string | null): SiteSettings {
  if (file === null) return { workflowServer: {} };
  try {
    const raw = readJsonFile(file);
    parseSiteConfig(raw, file, dirname(file), file);
    const section = isPlainObject(raw) ? raw.WorkflowServer : undefined;
    return { workflowServer: isPlainObject(section) ? section : {} };
  } catch (err) {
    return { error: `the site configuration is invalid, so access users get nothing until it is fixed: ${errorMessage(err)}` };
  }
}

/** Calls `push` with the new settings whenever the site file changes on disk. */
export function watchSiteSettings(file: string | null, logger: Logger, push: (site: SiteSettings) => void): FileWatch | undefined {
  if (file === null) return undefined;
  return watchFile(file, () => {
    const site = readSiteSettings(file);
    if ('error' in site) logger.error({ file, err: site.error }, 'site configuration changed and is invalid: workflow servers deny access users until it is fixed');
    else logger.info({ file }, 'site configuration changed: sending the new WorkflowServer settings to running servers');
    push(site);
  });
}
