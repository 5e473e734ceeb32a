/** A JSON object (not null, not an array): the only shape our configuration values and JSON bodies may have. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message of anything thrown, for logs and error answers. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
