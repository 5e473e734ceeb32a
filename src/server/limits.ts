/** Largest request bodies accepted; larger ones are refused with 413 before being read further. */
export const MAX_GRAPHQL_BYTES = 1024 * 1024;
export const MAX_AUTHORIZATION_BYTES = 256 * 1024;
export const MAX_CONTROL_BYTES = 4 * 1024 * 1024;

import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '../config/server-limits.js';

export { DEFAULT_SERVER_LIMITS, type ServerLimits };

/** The limits in force: the defaults, overridden by what the site set. */
export function serverLimits(set: Partial<ServerLimits> | undefined): ServerLimits {
  return { ...DEFAULT_SERVER_LIMITS, ...set };
}

export function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MB` : `${bytes / 1024} kB`;
}
