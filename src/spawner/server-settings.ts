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
    let settings: unknown;
    try {
      const raw = siteFile ? readJsonFile(siteFile) : {};
      const section = isPlainObject(raw) ? raw.WorkflowServer : undefined;
      settings = section === undefined ? {} : { WorkflowServer: section };
    } catch (err) {
      // Servers must see a broken site file as broken (and deny access users), as if they read it:
      // a bare string is no configuration, and the message says where the fault is.
      logger.warn({ file: siteFile, err: (err as Error).message }, 'the site file is unreadable; servers deny access users until it is fixed');
      settings = `the site file is invalid: ${(err as Error).message}`;
    }
    try {
      writeFileAtomic(file, `${JSON.stringify(settings, null, 2)}\n`, 0o644);
    } catch (err) {
      logger.error({ file, err: (err as Error).message }, 'could not write the settings copy for workflow servers');
    }
  };
  copy();
  return { file, watch: siteFile ? watchFile(siteFile, copy) : undefined };
}
