/** One problem found in a configuration file: which file, where in it, and what is wrong. */
export interface ConfigIssue {
  /** The file as the user named it; null for embedded defaults or values not read from a file. */
  file: string | null;
  /** Key path inside the file; numbers are list indices. */
  path: (string | number)[];
  message: string;
}

/** Every problem found, all at once, so that one run of `config check` shows them all. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatConfigIssue).join('\n'));
    this.issues = issues;
  }
}

/** `JupyterHub › authenticator › admin_users[2]`: indices stick to the key they index. */
function formatKeyPath(path: readonly (string | number)[]): string {
  const parts: string[] = [];
  for (const segment of path) {
    if (typeof segment === 'number' && parts.length > 0) parts[parts.length - 1] += `[${segment}]`;
    else parts.push(typeof segment === 'number' ? `[${segment}]` : segment);
  }
  return parts.join(' › ');
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = [issue.file ?? '(embedded defaults)'];
  if (issue.path.length > 0) where.push(formatKeyPath(issue.path));
  return `${where.join(': ')}: ${issue.message}`;
}
