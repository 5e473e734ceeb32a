/**
 * The one rule for user, group and workflow names, used everywhere a name reaches a URL, a
 * folder under the data directory or a configuration file.
 *
 * A name is 1 to 64 ASCII characters: letters, digits, `.`, `_`, `-` and `@`, starting with a
 * letter or a digit. So `.` and `..` can never be names, nor can anything holding `/`, `%`, `\`,
 * spaces or non-ASCII letters: a name is always safe as one path segment, as is.
 */

/** The rule as an HTML `pattern` attribute, which browsers anchor and compile with the `v` flag (hence `\-`). */
export const NAME_HTML_PATTERN = String.raw`[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}`;
const NAME_PATTERN = new RegExp(`^${NAME_HTML_PATTERN}$`);

export const NAME_RULE =
  'names are 1 to 64 ASCII letters, digits, ".", "_", "-" or "@", starting with a letter or a digit';

export class InvalidNameError extends Error {
  override name = 'InvalidNameError';
}

export function isValidUserName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

/** Workflow folder names follow the user-name rule: they are path segments in URLs too. */
export const isValidWorkflowName = isValidUserName;

/** Throws an InvalidNameError naming what was expected; the name itself is quoted, cut short. */
export function assertValidUserName(name: unknown, what = 'user name'): asserts name is string {
  if (!isValidUserName(name)) throw new InvalidNameError(`invalid ${what} ${quote(name)}: ${NAME_RULE}`);
}

/** A short, printable rendering of any value for error messages. */
export function quote(value: unknown, max = 40): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
