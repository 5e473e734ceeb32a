import type { Explanation, PermissionSetExplanation } from './explain.js';

function list(values: readonly string[]): string {
  return values.length === 0 ? '(none)' : values.join(', ');
}

function setLines(set: PermissionSetExplanation): string[] {
  return [
    `   as written:      ${list(set.terms)}`,
    `   expanded:        ${list(set.added)}`,
    `   negated:         ${list(set.negated)}`,
    `   after negation:  ${list(set.operations)}`,
  ];
}

/** The explanation as numbered steps, for people at a terminal. */
export function formatExplanation(e: Explanation): string {
  const lines = [
    `Owner ${e.owner} (groups: ${list(e.ownerGroups)}), access user ${e.user} (groups: ${list(e.userGroups)})`,
  ];
  if (e.workflow !== null) {
    lines.push(
      e.workflowSection
        ? `Workflow ${e.workflow}: workflow_authorization has a section for it, read together with user_authorization`
        : `Workflow ${e.workflow}: workflow_authorization has no section for it, so the server-wide rule decides`,
    );
  }
  if (e.decidedBy !== 'rules') {
    lines.push(`Result: ${list(e.result)}`, e.summary);
    return lines.join('\n') + '\n';
  }
  lines.push(
    `1. Owner keys: ${list(e.ownerKeys.candidates)}; with a site_authorization section: ${list(e.ownerKeys.matched)}`,
    `   User keys:  ${list(e.userKeys.candidates)}`,
    `2. Site entries used (${e.entries.length}):`,
    ...e.entries.map(
      (entry) =>
        `   ${entry.ownerKey} › ${entry.userKey}: default ${entry.default ? list(entry.default) : '(none)'}; ` +
        `limit ${entry.limit ? list(entry.limit) : `(none, so the default: ${list(entry.default ?? [])})`}`,
    ),
    '   Limits:',
    ...setLines(e.limits),
    '   Defaults:',
    ...setLines(e.defaults),
  );
  if (e.grants.source === 'user_authorization') {
    lines.push(
      e.workflow === null
        ? `3. Grants from user_authorization, keys ${list(e.grants.fromKeys.map((g) => g.key))}:`
        : `3. Grants from user_authorization and workflow_authorization.${e.workflow}, keys ${list([...new Set(e.grants.fromKeys.map((g) => g.key))])}:`,
      ...e.grants.fromKeys.map((g) => (e.workflow === null ? `   ${g.key}: ${list(g.terms)}` : `   ${g.section} › ${g.key}: ${list(g.terms)}`)),
    );
  } else {
    lines.push(
      e.workflow === null
        ? `3. The owner's user_authorization mentions none of the user keys, so grants = the defaults:`
        : `3. Neither user_authorization nor workflow_authorization.${e.workflow} mentions any of the user keys, so grants = the defaults:`,
    );
  }
  lines.push(
    ...setLines(e.grants),
    `4. Permitted = limits ∩ grants: ${list(e.result)}`,
    e.summary,
  );
  return lines.join('\n') + '\n';
}
