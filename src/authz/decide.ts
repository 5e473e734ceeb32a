import type { PermissionList, SiteAuthorization, SiteEntry, UserAuthorization } from './config.js';
import { FULL_MASK, OperationSet, type Mask } from './mask.js';
import type { Operation } from './operations.js';

/** Who asks, on whose server. Groups are plain names, without the `group:` prefix. */
export interface AuthzRequest {
  owner: string;
  ownerGroups: readonly string[];
  user: string;
  userGroups: readonly string[];
}

/** What the rules looked at, recorded only when an explanation is wanted. */
export interface DecisionTrace {
  ownerKeys: string[];
  userKeys: string[];
  entries: { ownerKey: string; userKey: string; entry: SiteEntry }[];
  /** Each grant list used, with the section it came from: null for user_authorization, else the workflow. */
  grants: { key: string; list: PermissionList; workflow: string | null }[];
}

/**
 * The workflow an operation acts on, with the owner's section for it (undefined when
 * workflow_authorization does not name it: then the server-wide rule decides alone).
 */
export interface WorkflowScope {
  name: string;
  section: UserAuthorization | undefined;
}

/** The masks of every step of a decision (AUTHORIZATION.md "Deciding what an access user may do"). */
export interface DecisionMasks {
  kind: 'owner' | 'no-site-authorization' | 'rules';
  limitsAdd: Mask;
  limitsRemove: Mask;
  defaultsAdd: Mask;
  defaultsRemove: Mask;
  /** Whether the owner mentioned the user under some key (in user_authorization or the workflow's section). */
  ownerMentionedUser: boolean;
  grantsAdd: Mask;
  grantsRemove: Mask;
  result: Mask;
}

function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${what} must be a non-empty string`);
  // Such a name would collide with the `*` or `group:` key forms and match entries meant for others.
  if (value === '*' || value.startsWith('group:')) throw new Error(`${what} ${JSON.stringify(value)} is not a usable name`);
  return value;
}

function checkGroups(value: unknown, what: string): readonly string[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be a list of group names`);
  for (const group of value) {
    if (typeof group !== 'string' || group === '') throw new Error(`${what} must hold non-empty group names`);
  }
  return value as string[];
}

/** `*`, the name, then `group:<g>` for each group: the keys that can stand for this account. */
function keysFor(name: string, groups: readonly string[]): string[] {
  const keys = new Set<string>(['*', name]);
  for (const group of groups) keys.add(`group:${group}`);
  return [...keys];
}

/**
 * Applies the rules. Throws only on a malformed request; callers turn that into "nothing".
 * When `trace` is given, records every key and entry consulted.
 */
export function decideMasks(
  site: SiteAuthorization | undefined,
  ua: UserAuthorization | undefined,
  request: AuthzRequest,
  trace?: DecisionTrace,
  workflow?: WorkflowScope,
): DecisionMasks {
  const owner = checkName(request.owner, 'owner');
  const user = checkName(request.user, 'user');
  const ownerGroups = checkGroups(request.ownerGroups, 'ownerGroups');
  const userGroups = checkGroups(request.userGroups, 'userGroups');
  const masks: DecisionMasks = {
    kind: 'rules',
    limitsAdd: 0,
    limitsRemove: 0,
    defaultsAdd: 0,
    defaultsRemove: 0,
    ownerMentionedUser: false,
    grantsAdd: 0,
    grantsRemove: 0,
    result: 0,
  };
  if (user === owner) return { ...masks, kind: 'owner', result: FULL_MASK };
  if (site === undefined) return { ...masks, kind: 'no-site-authorization' };

  const ownerKeys = keysFor(owner, ownerGroups);
  const userKeys = keysFor(user, userGroups);
  if (trace) {
    trace.ownerKeys = ownerKeys;
    trace.userKeys = userKeys;
  }

  for (const ownerKey of ownerKeys) {
    const section = site.sections.get(ownerKey);
    if (section === undefined) continue;
    for (const userKey of userKeys) {
      const entry = section.get(userKey);
      if (entry === undefined) continue;
      // Parsing guarantees one of the two; an entry with only a default has it as its limit.
      const limit = entry.limit ?? entry.default!;
      masks.limitsAdd |= limit.add;
      masks.limitsRemove |= limit.remove;
      if (entry.default) {
        masks.defaultsAdd |= entry.default.add;
        masks.defaultsRemove |= entry.default.remove;
      }
      trace?.entries.push({ ownerKey, userKey, entry });
    }
  }

  // Grants(W): user_authorization and workflow_authorization[W] together, as one set.
  const sections: [UserAuthorization | undefined, string | null][] = [[ua, null], [workflow?.section, workflow?.name ?? null]];
  for (const [section, from] of sections) {
    for (const userKey of userKeys) {
      const list = section?.grants.get(userKey);
      if (list === undefined) continue;
      masks.ownerMentionedUser = true;
      masks.grantsAdd |= list.add;
      masks.grantsRemove |= list.remove;
      trace?.grants.push({ key: userKey, list, workflow: from });
    }
  }
  if (!masks.ownerMentionedUser) {
    // The owner said nothing about this user under any key, in either place: the site's defaults apply.
    masks.grantsAdd = masks.defaultsAdd;
    masks.grantsRemove = masks.defaultsRemove;
  }

  // A negation beats an addition within each set, whichever key or entry each came from.
  const limits = masks.limitsAdd & ~masks.limitsRemove;
  const grants = masks.grantsAdd & ~masks.grantsRemove;
  masks.result = limits & grants & FULL_MASK;
  return masks;
}

/**
 * The permitted operations, server-wide or (with `workflow`) on one workflow; a malformed request
 * or any internal failure permits nothing.
 */
export function decide(
  site: SiteAuthorization | undefined,
  ua: UserAuthorization | undefined,
  request: AuthzRequest,
  workflow?: WorkflowScope,
): ReadonlySet<Operation> {
  try {
    return OperationSet.of(decideMasks(site, ua, request, undefined, workflow).result);
  } catch {
    return OperationSet.of(0);
  }
}
