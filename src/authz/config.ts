import { AuthzConfigError, describeValue, isPlainObject, type AuthzIssue } from './errors.js';
import { GROUP_MASKS, maskOf, type Mask } from './mask.js';
import { isOperation } from './operations.js';
import { closestName, resolvePermission, suggestPermission, termText } from './spelling.js';

/**
 * Validated, normalised forms of site_authorization and user_authorization. Each permission
 * list is compiled once into two masks (what it adds, what it negates) so that a decision is
 * a handful of map look-ups and bit operations.
 */

export interface PermissionList {
  /** Canonical spellings (`read`, `!stop`, `CONTROL`), duplicates dropped, in written order. */
  readonly terms: readonly string[];
  /** Every operation named positively, groups expanded. */
  readonly add: Mask;
  /** Every operation named negated, groups expanded. */
  readonly remove: Mask;
}

export interface SiteEntry {
  readonly default?: PermissionList;
  readonly limit?: PermissionList;
}

export type SiteAuthorizationJson = Record<string, Record<string, { default?: string[]; limit?: string[] }>>;
export type UserAuthorizationJson = Record<string, string[]>;
export type WorkflowAuthorizationJson = Record<string, UserAuthorizationJson>;

export class SiteAuthorization {
  constructor(
    /** owner key → access-user key → entry. */
    readonly sections: ReadonlyMap<string, ReadonlyMap<string, SiteEntry>>,
  ) {}

  /** The normalised configuration, as it would be written back to a file. */
  toJSON(): SiteAuthorizationJson {
    // fromEntries defines properties, so a key such as "__proto__" stays an ordinary key.
    return Object.fromEntries(
      [...this.sections].map(([ownerKey, section]) => [
        ownerKey,
        Object.fromEntries(
          [...section].map(([userKey, entry]) => [
            userKey,
            {
              ...(entry.default ? { default: [...entry.default.terms] } : {}),
              ...(entry.limit ? { limit: [...entry.limit.terms] } : {}),
            },
          ]),
        ),
      ]),
    );
  }
}

export class UserAuthorization {
  constructor(
    /** access-user key → what the owner grants under it. */
    readonly grants: ReadonlyMap<string, PermissionList>,
  ) {}

  toJSON(): UserAuthorizationJson {
    return Object.fromEntries([...this.grants].map(([key, list]) => [key, [...list.terms]]));
  }
}

/**
 * workflow_authorization: per workflow name, a section shaped exactly like user_authorization.
 * A section only ever joins user_authorization for its own workflow (AUTHORIZATION.md "Sharing
 * one workflow"); a name that matches no workflow yet is kept, so sharing can precede the workflow.
 */
export class WorkflowAuthorization {
  /** The workflow names that have a section, sorted (asked on every open of the server). */
  readonly workflows: readonly string[];

  constructor(
    /** workflow name → its section. */
    readonly sections: ReadonlyMap<string, UserAuthorization>,
  ) {
    this.workflows = [...sections.keys()].sort();
  }

  /** The section for a workflow, if the owner wrote one. */
  sectionFor(workflow: string): UserAuthorization | undefined {
    return this.sections.get(workflow);
  }

  toJSON(): WorkflowAuthorizationJson {
    return Object.fromEntries([...this.sections].map(([workflow, ua]) => [workflow, ua.toJSON()]));
  }
}

/** How a workflow name is checked: the project's naming rule, given by the caller (see config/names.ts). */
export interface WorkflowNameRule {
  test(name: string): boolean;
  /** The rule in words, for the error. */
  text: string;
}

const ENTRY_KEYS = ['default', 'limit'] as const;

/** Collects issues while walking a configuration, so that all of them are reported at once. */
class IssueCollector {
  readonly issues: AuthzIssue[] = [];

  add(path: readonly string[], message: string): void {
    this.issues.push({ path: [...path], message });
  }

  throwIfAny(): void {
    if (this.issues.length > 0) throw new AuthzConfigError(this.issues);
  }
}

/** Checks a key (`*`, a user name, `group:<name>`); returns false (after reporting) if unusable. */
function checkKey(key: string, path: readonly string[], issues: IssueCollector): boolean {
  if (key.trim() === '') {
    issues.add(path, 'empty key: write "*", a user name or "group:<name>"');
    return false;
  }
  if (key.startsWith('group:') && key.slice('group:'.length).trim() === '') {
    issues.add(path, 'group key without a group name: write "group:<name>"');
    return false;
  }
  return true;
}

function parsePermissionList(raw: unknown, path: readonly string[], issues: IssueCollector): PermissionList | undefined {
  // A single string stands for a one-item list.
  const items: unknown[] | undefined = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : undefined;
  if (items === undefined) {
    issues.add(path, `expected a permission name or a list of them, got ${describeValue(raw)}`);
    return undefined;
  }
  if (items.length === 0) {
    issues.add(path, 'empty list: name the permissions, or write ["!ALL"] for none');
    return undefined;
  }
  const terms: string[] = [];
  let add = 0;
  let remove = 0;
  let ok = true;
  items.forEach((item, index) => {
    if (typeof item !== 'string') {
      issues.add(path, `item ${index + 1}: expected a permission name (a string), got ${describeValue(item)}`);
      ok = false;
      return;
    }
    const term = resolvePermission(item);
    if (term === undefined) {
      const suggestion = suggestPermission(item);
      const hint = suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`;
      issues.add(path, `unknown permission ${JSON.stringify(item)}${hint}`);
      ok = false;
      return;
    }
    const mask = isOperation(term.name) ? maskOf([term.name]) : GROUP_MASKS[term.name];
    if (term.negated) remove |= mask;
    else add |= mask;
    const text = termText(term);
    if (!terms.includes(text)) terms.push(text);
  });
  return ok ? Object.freeze({ terms: Object.freeze(terms), add, remove }) : undefined;
}

function parseEntry(raw: unknown, path: readonly string[], issues: IssueCollector): SiteEntry | undefined {
  if (!isPlainObject(raw)) {
    issues.add(path, `expected an object with "default", "limit" or both, got ${describeValue(raw)}`);
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(raw)) {
    if ((ENTRY_KEYS as readonly string[]).includes(key)) continue;
    const suggestion = closestName(key, ENTRY_KEYS);
    const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
    issues.add([...path, key], `unknown key ${JSON.stringify(key)}${hint} (an entry may have only "default" and "limit")`);
    ok = false;
  }
  const has = (key: string) => Object.prototype.hasOwnProperty.call(raw, key);
  if (!has('default') && !has('limit')) {
    // An entry with neither would silently do nothing; the author surely meant something.
    if (ok) issues.add(path, 'an entry needs "default", "limit" or both');
    return undefined;
  }
  const entry: { default?: PermissionList; limit?: PermissionList } = {};
  for (const key of ENTRY_KEYS) {
    if (!has(key)) continue;
    const list = parsePermissionList(raw[key], [...path, key], issues);
    if (list === undefined) ok = false;
    else entry[key] = list;
  }
  return ok ? Object.freeze(entry) : undefined;
}

/**
 * Validates and normalises site_authorization. Throws AuthzConfigError listing every issue,
 * each located by its key path starting at `where`.
 */
export function parseSiteAuthorization(raw: unknown, where = 'site_authorization'): SiteAuthorization {
  const issues = new IssueCollector();
  const sections = new Map<string, ReadonlyMap<string, SiteEntry>>();
  if (!isPlainObject(raw)) {
    issues.add([where], `expected an object mapping owner keys to access-user sections, got ${describeValue(raw)}`);
  } else {
    for (const [ownerKey, rawSection] of Object.entries(raw)) {
      const sectionPath = [where, ownerKey];
      const keyOk = checkKey(ownerKey, sectionPath, issues);
      if (!isPlainObject(rawSection)) {
        issues.add(sectionPath, `expected an object mapping access-user keys to entries, got ${describeValue(rawSection)}`);
        continue;
      }
      const section = new Map<string, SiteEntry>();
      for (const [userKey, rawEntry] of Object.entries(rawSection)) {
        const entryPath = [...sectionPath, userKey];
        const userKeyOk = checkKey(userKey, entryPath, issues);
        const entry = parseEntry(rawEntry, entryPath, issues);
        if (userKeyOk && entry) section.set(userKey, entry);
      }
      if (keyOk) sections.set(ownerKey, section);
    }
  }
  issues.throwIfAny();
  return new SiteAuthorization(sections);
}

function collectUserAuthorization(raw: unknown, where: readonly string[], issues: IssueCollector): UserAuthorization {
  const grants = new Map<string, PermissionList>();
  if (!isPlainObject(raw)) {
    issues.add(where, `expected an object mapping access-user keys to permissions, got ${describeValue(raw)}`);
  } else {
    for (const [key, rawList] of Object.entries(raw)) {
      const path = [...where, key];
      const keyOk = checkKey(key, path, issues);
      const list = parsePermissionList(rawList, path, issues);
      if (keyOk && list) grants.set(key, list);
    }
  }
  return new UserAuthorization(grants);
}

/** Validates and normalises one owner's user_authorization. */
export function parseUserAuthorization(raw: unknown, where = 'user_authorization'): UserAuthorization {
  const issues = new IssueCollector();
  const ua = collectUserAuthorization(raw, [where], issues);
  issues.throwIfAny();
  return ua;
}

/** Glob characters: a workflow key is an exact name, and these would suggest otherwise. */
const GLOB = /[*?[\]{}]/;

/**
 * Validates and normalises one owner's workflow_authorization: keys are workflow names under
 * `nameRule` (no globs), each value validated exactly as user_authorization, with its key path.
 */
export function parseWorkflowAuthorization(
  raw: unknown,
  nameRule: WorkflowNameRule,
  where = 'workflow_authorization',
): WorkflowAuthorization {
  const issues = new IssueCollector();
  const sections = new Map<string, UserAuthorization>();
  if (!isPlainObject(raw)) {
    issues.add([where], `expected an object mapping workflow names to sections like user_authorization, got ${describeValue(raw)}`);
  } else {
    for (const [workflow, rawSection] of Object.entries(raw)) {
      const path = [where, workflow];
      let nameOk = true;
      if (GLOB.test(workflow)) {
        issues.add(path, `${JSON.stringify(workflow)} is a pattern: workflow_authorization takes exact workflow names, not globs`);
        nameOk = false;
      } else if (!nameRule.test(workflow)) {
        issues.add(path, `${JSON.stringify(workflow)} is not a workflow name: ${nameRule.text}`);
        nameOk = false;
      }
      const section = collectUserAuthorization(rawSection, path, issues);
      if (nameOk) sections.set(workflow, section);
    }
  }
  issues.throwIfAny();
  return new WorkflowAuthorization(sections);
}
