import type { SiteAuthorization, UserAuthorization } from './config.js';
import { decideMasks, type AuthzRequest, type DecisionMasks, type DecisionTrace, type WorkflowScope } from './decide.js';
import { GROUP_MASKS, operationsOf, type Mask } from './mask.js';
import type { Operation } from './operations.js';
import { errorMessage } from '../util/values.js';

/** One side of the decision (limits, defaults or grants) before and after expansion. */
export interface PermissionSetExplanation {
  /** The union of the names as written (normalised), before groups are expanded. */
  terms: string[];
  /** Operations named positively, groups expanded. */
  added: Operation[];
  /** Operations negated anywhere in the set; they are removed whatever added them. */
  negated: Operation[];
  /** What is left: added minus negated. */
  operations: Operation[];
}

export interface ExplainedEntry {
  ownerKey: string;
  userKey: string;
  default: string[] | null;
  limit: string[] | null;
  /** Where this entry's limit came from: its own `limit`, or its `default` when it has none. */
  limitFrom: 'limit' | 'default';
}

/** Where a grant list was written: server-wide, or one workflow's section. */
export type GrantSection = 'user_authorization' | `workflow_authorization.${string}`;

function sectionName(workflow: string | null): GrantSection {
  return workflow === null ? 'user_authorization' : `workflow_authorization.${workflow}`;
}

export interface Explanation {
  owner: string;
  /** The workflow decided for, or null for the server-wide rule. */
  workflow: string | null;
  /** Whether workflow_authorization has a section for that workflow (false when server-wide). */
  workflowSection: boolean;
  ownerGroups: string[];
  user: string;
  userGroups: string[];
  decidedBy: 'owner' | 'no-site-authorization' | 'rules' | 'error';
  /** Candidate owner keys, and those that have a section in site_authorization. */
  ownerKeys: { candidates: string[]; matched: string[] };
  /** Candidate user keys, and those matched in site_authorization and in user_authorization. */
  userKeys: {
    candidates: string[];
    matchedInSite: string[];
    matchedInUserAuthorization: string[];
    /** Keys matched in the workflow's section of workflow_authorization. */
    matchedInWorkflowAuthorization: string[];
  };
  entries: ExplainedEntry[];
  limits: PermissionSetExplanation;
  defaults: PermissionSetExplanation;
  grants: PermissionSetExplanation & {
    /**
     * `user_authorization` when the owner mentioned the user under some key (server-wide or in the
     * workflow's section), else `defaults`.
     */
    source: 'user_authorization' | 'defaults';
    /** Every grant list used, each with the section it came from (its negations included). */
    fromKeys: { key: string; section: GrantSection; terms: string[] }[];
  };
  result: Operation[];
  summary: string;
  error?: string;
}

// Plain code-unit order, so explanations read the same whatever the machine's locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compare);
}

function explainSet(terms: Iterable<string>, add: Mask, remove: Mask): PermissionSetExplanation {
  return {
    terms: sorted(terms),
    added: operationsOf(add),
    negated: operationsOf(remove),
    operations: operationsOf(add & ~remove),
  };
}

/** Short wording for a set of operations: group names where whole groups are present. */
function describeOperations(mask: Mask): string {
  if (mask === 0) return 'nothing';
  if (mask === GROUP_MASKS.ALL) return 'everything (ALL)';
  const parts: string[] = [];
  const control = mask & GROUP_MASKS.CONTROL;
  const missing = operationsOf(GROUP_MASKS.CONTROL & ~control);
  if (mask & GROUP_MASKS.READ) parts.push('read');
  if (control === GROUP_MASKS.CONTROL) parts.push('all of CONTROL');
  else if (missing.length <= 5 && control !== 0) parts.push(`CONTROL (except ${missing.join(', ')})`);
  else if (control !== 0) parts.push(operationsOf(control).join(', '));
  if (mask & ~(GROUP_MASKS.READ | GROUP_MASKS.CONTROL)) parts.push('broadcast');
  // " + " between the parts, so that "broadcast" never reads as one more exception of CONTROL.
  return parts.join(' + ');
}

function summarise(request: AuthzRequest, masks: DecisionMasks, trace: DecisionTrace, workflow: string | null): string {
  const { owner, user } = request;
  const where = workflow === null ? `${owner}'s server` : `workflow ${workflow} on ${owner}'s server`;
  if (masks.kind === 'owner') return `${user} owns this server: every operation is permitted.`;
  if (masks.kind === 'no-site-authorization') {
    return `No site_authorization is configured, so nobody but the owner (${owner}) may do anything: ${user} gets nothing.`;
  }
  const limits = describeOperations(masks.limitsAdd & ~masks.limitsRemove);
  const grants = describeOperations(masks.grantsAdd & ~masks.grantsRemove);
  const entryCount = trace.entries.length;
  const limitText =
    entryCount === 0
      ? 'no site_authorization entry applies, so the limit is nothing'
      : `the site limit (${entryCount} ${entryCount === 1 ? 'entry' : 'entries'}) allows ${limits}`;
  const grantText = masks.ownerMentionedUser
    ? `${owner} grants ${grants} (under ${trace.grants.map((g) => (workflow === null ? g.key : `${g.key} in ${sectionName(g.workflow)}`)).join(', ')})`
    : `${owner} did not mention ${user}${workflow === null ? '' : ' server-wide or for this workflow'}, so the site default applies: ${grants}`;
  return `${user} on ${where} may do ${describeOperations(masks.result)}: ${limitText}; ${grantText}.`;
}

function emptyExplanation(request: AuthzRequest): Explanation {
  const none = explainSet([], 0, 0);
  const asList = (groups: unknown): string[] => (Array.isArray(groups) ? groups.map(String) : []);
  return {
    owner: String(request.owner),
    workflow: null,
    workflowSection: false,
    ownerGroups: asList(request.ownerGroups),
    user: String(request.user),
    userGroups: asList(request.userGroups),
    decidedBy: 'error',
    ownerKeys: { candidates: [], matched: [] },
    userKeys: { candidates: [], matchedInSite: [], matchedInUserAuthorization: [], matchedInWorkflowAuthorization: [] },
    entries: [],
    limits: none,
    defaults: none,
    grants: { ...none, source: 'defaults', fromKeys: [] },
    result: [],
    summary: '',
  };
}

/**
 * Decides and says why: every key, entry and set the rules used, in a plain JSON-serialisable
 * object, independent of the order of keys in the configuration. With `workflow`, for that
 * workflow, naming the section each grant and negation came from.
 */
export function explainDecision(
  site: SiteAuthorization | undefined,
  ua: UserAuthorization | undefined,
  request: AuthzRequest,
  workflow?: WorkflowScope,
): Explanation {
  const explanation = {
    ...emptyExplanation(request),
    workflow: workflow?.name ?? null,
    workflowSection: workflow?.section !== undefined,
  };
  const trace: DecisionTrace = { ownerKeys: [], userKeys: [], entries: [], grants: [] };
  let masks: DecisionMasks;
  try {
    masks = decideMasks(site, ua, request, trace, workflow);
  } catch (err) {
    const message = errorMessage(err);
    return { ...explanation, error: message, summary: `The decision failed (${message}), so nothing is permitted.` };
  }
  const limitTerms = trace.entries.flatMap(({ entry }) => (entry.limit ?? entry.default!).terms);
  const defaultTerms = trace.entries.flatMap(({ entry }) => entry.default?.terms ?? []);
  const grantTerms = masks.ownerMentionedUser ? trace.grants.flatMap((g) => g.list.terms) : defaultTerms;
  return {
    ...explanation,
    ownerGroups: sorted(request.ownerGroups),
    userGroups: sorted(request.userGroups),
    decidedBy: masks.kind,
    ownerKeys: {
      candidates: sorted(trace.ownerKeys),
      matched: sorted(trace.ownerKeys.filter((key) => site?.sections.has(key))),
    },
    userKeys: {
      candidates: sorted(trace.userKeys),
      matchedInSite: sorted(trace.entries.map((e) => e.userKey)),
      matchedInUserAuthorization: sorted(trace.grants.filter((g) => g.workflow === null).map((g) => g.key)),
      matchedInWorkflowAuthorization: sorted(trace.grants.filter((g) => g.workflow !== null).map((g) => g.key)),
    },
    entries: trace.entries
      .map(({ ownerKey, userKey, entry }) => ({
        ownerKey,
        userKey,
        default: entry.default ? [...entry.default.terms] : null,
        limit: entry.limit ? [...entry.limit.terms] : null,
        limitFrom: entry.limit ? ('limit' as const) : ('default' as const),
      }))
      .sort((a, b) => compare(a.ownerKey, b.ownerKey) || compare(a.userKey, b.userKey)),
    limits: explainSet(limitTerms, masks.limitsAdd, masks.limitsRemove),
    defaults: explainSet(defaultTerms, masks.defaultsAdd, masks.defaultsRemove),
    grants: {
      ...explainSet(grantTerms, masks.grantsAdd, masks.grantsRemove),
      source: masks.ownerMentionedUser ? 'user_authorization' : 'defaults',
      fromKeys: trace.grants
        .map((g) => ({ key: g.key, section: sectionName(g.workflow), terms: [...g.list.terms] }))
        .sort((a, b) => compare(a.section, b.section) || compare(a.key, b.key)),
    },
    result: operationsOf(masks.result),
    summary: summarise(request, masks, trace, workflow?.name ?? null),
  };
}
