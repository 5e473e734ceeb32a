import { join } from 'node:path';
import { readJsonFile } from '../config/json.js';
import { isPlainObject } from '../util/values.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { watchFile, type FileWatch } from '../util/watch-file.js';
import type { Logger } from '../util/logger.js';

/**
 * Under an isolating mode the site file is the hub's alone (it may hold service tokens), yet
 * servers need its `WorkflowServer` section, live. This keeps a copy of that section, and only
 * that, in `<data_dir>/server-settings.json` (root-owned, world-readable through the 0711 data
 * folder), rewritten whenever the site file changes; servers read it in place of the site file.
 *
 * A bridge until the hub pushes the settings to each server over its control endpoint.
 */
export function shareServerSettings(siteFile: string | null, dataDir: string, logger: Logger): { file: string; watch: FileWatch | undefined } {
  const file = join(dataDir, 'server-settings.json');
  const copy = (): void => {
    try {
      const raw = siteFile ? readJsonFile(siteFile) : {};
      const section = isPlainObject(raw) ? raw.WorkflowServer : undefined;
      writeFileAtomic(file, `${JSON.stringify(section === undefined ? {} : { WorkflowServer: section }, null, 2)}\n`, 0o644);
    } catch (err) {
      // A broken site file: servers keep the last good settings, as they would reading it themselves.
      logger.warn({ file: siteFile, err: (err as Error).message }, "could not copy the site file's WorkflowServer settings for servers");
    }
  };
  copy();
  return { file, watch: siteFile ? watchFile(siteFile, copy) : undefined };
}
