import { isValidUserName, NAME_RULE, quote } from './names.js';
import { didYouMean } from './suggest.js';

/**
 * Hub scopes, named and shaped as JupyterHub's. `self` stands for the holder's own scopes on
 * themselves; the hub expands it. Any scope may be narrowed to one user's or one group's
 * resources with a filter: `access:servers!user=bob`, `servers!group=physics`.
 */
export const KNOWN_SCOPES = [
  'self',
  'access:servers',
  'servers',
  'read:servers',
  'admin:servers',
  'admin:users',
  'read:users',
  'list:users',
  'admin:groups',
  'tokens',
] as const;

export type Scope = (typeof KNOWN_SCOPES)[number];
export type ScopeFilterKind = 'user' | 'group';

export interface ParsedScope {
  scope: Scope;
  filter?: { kind: ScopeFilterKind; name: string };
}

export class ScopeError extends Error {
  override name = 'ScopeError';
}

const FILTER_KINDS: readonly ScopeFilterKind[] = ['user', 'group'];

function isKnownScope(name: string): name is Scope {
  return (KNOWN_SCOPES as readonly string[]).includes(name);
}

/** Parses `scope` or `scope!kind=name`; throws a ScopeError that says what is wrong. */
export function parseScope(text: string): ParsedScope {
  const bang = text.indexOf('!');
  const scope = bang === -1 ? text : text.slice(0, bang);
  if (!isKnownScope(scope)) {
    throw new ScopeError(
      `unknown scope ${quote(scope)}${didYouMean(scope, KNOWN_SCOPES)} (known scopes: ${KNOWN_SCOPES.join(', ')})`,
    );
  }
  if (bang === -1) return { scope };
  const filter = text.slice(bang + 1);
  const equals = filter.indexOf('=');
  const kind = equals === -1 ? filter : filter.slice(0, equals);
  if (!(FILTER_KINDS as readonly string[]).includes(kind)) {
    throw new ScopeError(
      `unknown filter ${quote(`!${filter}`)} on scope "${scope}"${didYouMean(kind, FILTER_KINDS)}; filters are !user=NAME and !group=NAME`,
    );
  }
  const name = equals === -1 ? '' : filter.slice(equals + 1);
  if (!isValidUserName(name)) {
    throw new ScopeError(`filter "!${kind}=" on scope "${scope}" needs a valid ${kind} name, got ${quote(name)}: ${NAME_RULE}`);
  }
  return { scope, filter: { kind: kind as ScopeFilterKind, name } };
}
