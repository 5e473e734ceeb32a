import { existsSync } from 'node:fs';

/** The site file a command uses when `--config` is not given, if it exists in the working folder. */
export const DEFAULT_CONFIG = 'jupyter_config.json';

export const CONFIG_OPTION_HELP = `site configuration file (default: ./${DEFAULT_CONFIG} if present, else embedded defaults)`;

/** `--config`, else ./jupyter_config.json when present, else undefined (the embedded defaults). */
export function siteFileFrom(option: string | undefined): string | undefined {
  return option ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
}
