/**
 * The site's `WorkflowServer` settings as this server uses them. They come from the hub (see
 * identity/launch.ts), never from the site file, which the server may not be able to read and
 * which holds things it must not see.
 */
import { parseSiteConfig, type SiteConfig } from '../config/site.js';
import type { SiteSettings } from '../identity/launch.js';

export type WorkflowServerSettings = SiteConfig['WorkflowServer'];

/** How errors in the pushed settings name their source. */
const SOURCE = 'site configuration (as sent by the hub)';

/** Validates the settings exactly as the hub validated the site file; throws with the hub's
 * error, or a ConfigError naming the key, when they are unusable. */
export function workflowServerSettings(settings: SiteSettings): WorkflowServerSettings {
  if ('error' in settings) throw new Error(settings.error);
  return parseSiteConfig({ WorkflowServer: settings.workflowServer }, SOURCE, '/').WorkflowServer;
}
