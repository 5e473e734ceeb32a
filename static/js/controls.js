// Controls bound to one operation each. They are built once and updated in place on every live
// change, so that focus, typed values and open menus survive the updates; each disabled control
// carries the reason in `data-why` (shown on hover and focus by the stylesheet) and its label.
import { data, graphql } from './gql.js';
import { confirmAction, cutOffReason, el, toast } from './ui.js';

/** extTrigger → ext_trigger: permissions are named in snake_case in the rules people read. */
export function opName(op) {
  return op.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Why `op` is not permitted, or null when it is. A page cut off from its server permits nothing. */
export function permissionReason(op, permissions) {
  const cutOff = cutOffReason();
  if (cutOff) return cutOff;
  if (permissions.has(op)) return null;
  const missing = `You do not have the "${opName(op)}" permission on ${data.owner}'s workflows.`;
  // broadcast is the one operation outside CONTROL: say so, or people ask for CONTROL and wonder.
  return op === 'broadcast'
    ? `${missing} It needs ALL: broadcast changes task scripts and environments at run time, so it is not part of CONTROL.`
    : missing;
}

/** Permission first, then whether it makes sense now: `valid(subject)` is true or a reason. */
export function whyDisabled(op, permissions, valid, subject) {
  const denied = permissionReason(op, permissions);
  if (denied) return denied;
  const ok = valid ? valid(subject) : true;
  return ok === true ? null : `Not now: ${ok}.`;
}

function setReason(wrap, target, label, why) {
  target.disabled = why !== null;
  if (why) wrap.setAttribute('data-why', why);
  else wrap.removeAttribute('data-why');
  if (label) target.setAttribute('aria-label', why ? `${label} (unavailable: ${why})` : label);
}

/**
 * A button for one operation. `confirm: [title, text]` asks first (destructive operations).
 * update(permissions, subject) re-evaluates it.
 */
export function actionButton({ op, label, primary, danger, confirm, valid, run }) {
  const button = el('button', { type: 'button', class: `btn small${primary ? ' primary' : ''}${danger ? ' danger' : ''}`, 'data-op': op }, label);
  const wrap = el('span', { class: 'ctl' }, button);
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    if (confirm && !(await confirmAction(confirm[0], confirm[1], label))) return;
    run();
  });
  return {
    node: wrap,
    button,
    update(permissions, subject) {
      setReason(wrap, button, label, whyDisabled(op, permissions, valid, subject));
    },
  };
}

/** An input or select that only someone permitted may use; wraps it so the reason shows on hover. */
export function guardedField(op, field, label) {
  const wrap = el('span', { class: 'ctl' }, field);
  return {
    node: wrap,
    update(permissions) {
      setReason(wrap, field, label, permissionReason(op, permissions));
    },
  };
}

// The GraphQL type of each argument the page sends, for the variable definitions.
const ARG_TYPES = {
  tasks: '[String!]!',
  mode: 'String',
  cyclePoint: 'Int!',
  name: 'String!',
  id: 'String',
  outputs: '[String!]',
  text: 'String!',
  severity: 'String',
  level: 'String!',
  extent: 'Int!',
  settings: 'JSON!',
  cyclePoints: '[String!]',
  namespaces: '[String!]',
};

/**
 * Runs one mutation on one workflow. Resolves to { ok, message }; refusals and errors are
 * resolved too (not thrown), so that a dialog can show them and stay open.
 */
export async function runMutation(workflow, op, args = {}) {
  const names = Object.keys(args);
  const defs = names.map((n) => `, $${n}: ${ARG_TYPES[n]}`).join('');
  const uses = names.map((n) => `, ${n}: $${n}`).join('');
  try {
    const result = await graphql(
      `mutation Run($workflows: [ID!]!${defs}) { ${op}(workflows: $workflows${uses}) { workflow ok message } }`,
      { workflows: [workflow], ...args },
    );
    const outcome = result[op][0];
    return { ok: Boolean(outcome?.ok), message: outcome?.message || `${opName(op)}: done` };
  } catch (err) {
    return { ok: false, message: err.message, forbidden: err.code === 'FORBIDDEN' };
  }
}

/** runMutation, with the outcome shown as a toast. */
export async function mutateWithToast(workflow, op, args) {
  const outcome = await runMutation(workflow, op, args);
  toast(outcome.message, outcome.ok ? 'info' : 'error');
  return outcome;
}
