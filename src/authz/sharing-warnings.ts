import { isValidUserName, NAME_RULE } from '../config/names.js';

/** What is known to exist: a set, or undefined when it is not known (then nothing is said about it). */
export interface KnownNames {
  users?: ReadonlySet<string>;
  groups?: ReadonlySet<string>;
}

/**
 * Warnings about the keys of an owner's sharing rules that name nobody: a key that can never be a
 * user or group name (`"b ob"`), and a user or group that does not exist now. Rules stay valid
 * (a name may get an account or a group later); these only tell the owner before they wonder why
 * a rule does nothing. `where` prefixes each warning, e.g. `user_authorization › `.
 */
export function sharingKeyWarnings(keys: Iterable<string>, known: KnownNames, where = ''): string[] {
  const warnings: string[] = [];
  for (const key of keys) {
    if (key === '*') continue;
    const group = key.startsWith('group:') ? key.slice('group:'.length) : undefined;
    const name = group ?? key;
    const what = group === undefined ? 'user' : 'group';
    if (!isValidUserName(name)) {
      warnings.push(`${where}${JSON.stringify(key)}: no ${what} can ever be called ${JSON.stringify(name)} (${NAME_RULE}), so this rule applies to nobody`);
      continue;
    }
    const names = group === undefined ? known.users : known.groups;
    if (names && !names.has(name)) {
      warnings.push(`${where}${JSON.stringify(key)}: there is no ${what} ${name} now; the rule applies if one is made later`);
    }
  }
  return warnings;
}

/** The same for a user being explained: undefined when they exist or the accounts are not known. */
export function missingUserNote(user: string, known: KnownNames): string | undefined {
  if (!known.users || known.users.has(user)) return undefined;
  return `There is no user ${user} now: this is what they would get if an account of that name were made.`;
}
