/** One problem in a configuration: where it is (key path) and what is wrong. */
export interface AuthzIssue {
  path: string[];
  message: string;
}

const PATH_SEPARATOR = ' › ';

// An empty key would vanish from the path; show it quoted so the reader can find it.
function pathPart(part: string): string {
  return part === '' ? '""' : part;
}

function formatIssue(issue: AuthzIssue): string {
  return `${issue.path.map(pathPart).join(PATH_SEPARATOR)}: ${issue.message}`;
}

/** Every problem found in a configuration, not just the first, so one edit can fix them all. */
export class AuthzConfigError extends Error {
  readonly issues: AuthzIssue[];

  constructor(issues: AuthzIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'AuthzConfigError';
    this.issues = issues;
  }
}

/** Describes a JSON value's kind for "expected X, got Y" messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'number':
      return `the number ${String(value)}`;
    case 'boolean':
      return `${String(value)}`;
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    default:
      return `a ${typeof value}`;
  }
}

export { isPlainObject } from '../util/values.js';
