// The workflow's active broadcasts: a panel with one row per override (cycle point, tasks, what it
// sets) and a Clear button each, for those who hold `broadcast`; disabled with the reason for the
// rest. Hidden while there are none. Rows are rebuilt only when the list changes, buttons are
// re-evaluated on every update (permissions may change on their own).
import { actionButton } from './controls.js';
import { el, relativeTime } from './ui.js';

export const BROADCAST_FIELDS = 'broadcasts { id cyclePoint namespace settings { env script } seq setBy setAt }';

const hasScript = (b) => b.settings.script !== undefined && b.settings.script !== null;

/** Where a broadcast applies, in words. */
export function broadcastTarget(b) {
  const points = b.cyclePoint === '*' ? 'every cycle point' : `cycle point ${b.cyclePoint}`;
  const tasks = b.namespace === '*' ? 'every task' : /[*?[]/.test(b.namespace) ? `tasks matching ${b.namespace}` : `task ${b.namespace}`;
  return `${tasks}, ${points}`;
}

/**
 * What a broadcast sets, as chips: NAME=value for env and, unless `withScript` shows the script
 * itself, "script replaced".
 */
export function broadcastSettings(b, { withScript = false } = {}) {
  const env = Object.entries(b.settings.env ?? {});
  return el('div', {},
    env.length || !withScript
      ? el('span', { class: 'perm-chips' },
        ...env.map(([k, v]) => el('span', { class: 'chip mono', title: `${k}=${v}` }, `${k}=${v}`)),
        hasScript(b) && !withScript ? el('span', { class: 'chip', title: b.settings.script }, 'script replaced') : null)
      : null,
    hasScript(b) && withScript ? el('pre', { class: 'script', title: 'replaces the task\'s script' }, b.settings.script) : null);
}

/** "set by bob, 2 min ago"; empty for broadcasts stored before the setter was recorded. */
function broadcastOrigin(b) {
  if (!b.setBy) return null;
  return el('div', { class: 'muted small', title: b.setAt ?? '' }, `set by ${b.setBy}${b.setAt ? `, ${relativeTime(b.setAt)}` : ''}`);
}

/**
 * `section`: the panel (hidden when empty); `onClear(broadcast)` runs the clear. update(permissions,
 * workflow) redraws from `workflow.broadcasts`.
 */
export function createBroadcastList({ section, tbody, caption, onClear }) {
  let shown = null;
  let controls = [];
  return {
    update(permissions, workflow) {
      const list = workflow.broadcasts ?? [];
      const key = JSON.stringify(list);
      if (key !== shown) {
        shown = key;
        controls = list.map((b) => actionButton({ op: 'broadcast', label: 'Clear', run: () => onClear(b) }));
        tbody.replaceChildren(...list.map((b, i) => el('tr', { 'data-broadcast': b.id },
          el('td', {}, b.cyclePoint === '*' ? el('span', { class: 'muted' }, 'every') : b.cyclePoint),
          el('td', {}, b.namespace === '*' ? el('span', { class: 'muted' }, 'every task') : el('span', { class: 'mono' }, b.namespace)),
          el('td', {}, broadcastSettings(b, { withScript: true }), broadcastOrigin(b)),
          el('td', { class: 'actions' }, controls[i].node))));
        caption.textContent = `${list.length} active`;
        section.hidden = list.length === 0;
      }
      for (const control of controls) control.update(permissions, workflow);
    },
  };
}
