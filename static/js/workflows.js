// The workflow list: loaded over GraphQL, then kept live by the deltas subscription. A visitor
// also sees what they may do here, kept current by the permissions the server pushes.
import { data, graphql, root, subscribe } from './gql.js';
import { describeAccess, livePermissions } from './permissions.js';
import { attention, attentionNote, attentionRow, countsFromGraphql, el, flowErrorBlock, followConnection, lastRunNote, progressBar, relativeTime, statusBadge, toast } from './ui.js';

const SUMMARY_FIELDS = `id name description status lastRun { outcome at failed summary } lastActivity error { message file line column }
  stateCounts { waiting preparing submitted running succeeded failed submitFailed expired }`;

const workflows = new Map();
const tbody = document.querySelector('#workflows tbody');
const empty = document.getElementById('empty');
const summary = document.getElementById('summary');
const live = document.getElementById('live');

function render() {
  const list = [...workflows.values()].sort((a, b) => a.name.localeCompare(b.name));
  tbody.replaceChildren(...list.map((w) => {
    const counts = countsFromGraphql(w.stateCounts);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const state = attention(w, counts);
    return el('tr', { class: attentionRow(state), 'data-workflow': w.id },
      el('td', { class: 'name-cell' },
        el('a', { href: `${root}workflows/${encodeURIComponent(w.id)}` }, w.name),
        w.description ? el('div', { class: 'small muted' }, w.description) : null),
      el('td', {}, statusBadge(w.status, w.error), lastRunNote(w), attentionNote(state), w.error ? flowErrorBlock(w.error) : null),
      el('td', {}, total > 0 ? progressBar(counts) : el('span', { class: 'faint small' }, 'no tasks in the window')),
      el('td', { class: 'num' }, String(total)),
      el('td', { class: 'muted small', title: w.lastActivity ?? '' }, relativeTime(w.lastActivity)));
  }));
  empty.hidden = list.length > 0;
  const running = list.filter((w) => w.status === 'running').length;
  const stalled = list.filter((w) => w.status === 'stalled').length;
  summary.textContent = `${list.length} workflow${list.length === 1 ? '' : 's'} · ${running} running${stalled ? ` · ${stalled} stalled` : ''}`;
}

function applyDelta(delta) {
  const id = delta.workflow;
  if (delta.pruned?.workflow) {
    workflows.delete(id);
    return;
  }
  if (delta.added?.workflow) workflows.set(id, { ...workflows.get(id), ...delta.added.workflow });
  const patch = delta.updated?.workflow;
  if (patch && workflows.has(id)) {
    const current = workflows.get(id);
    workflows.set(id, { ...current, ...patch, stateCounts: patch.stateCounts ? { ...patch.stateCounts, submitFailed: patch.stateCounts['submit-failed'] } : current.stateCounts });
  }
}

async function load() {
  try {
    const result = await graphql(`{ workflows { ${SUMMARY_FIELDS} } }`);
    for (const w of result.workflows) workflows.set(w.id, w);
    render();
  } catch (err) {
    toast(err.message, 'error');
  }
}

let pending = false;
subscribe(`subscription { deltas { workflow added { workflow { ${SUMMARY_FIELDS} } } updated { workflow } pruned { workflow } } }`, {}, {
  onNext: ({ deltas }) => {
    applyDelta(deltas);
    // Many deltas can arrive in a burst; draw once per frame.
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        render();
      });
    }
  },
  onError: (message) => toast(message, 'error'),
  onStatus: (status) => {
    if (followConnection(live, status, data.owner)) workflows.clear();
  },
});
load();
setInterval(render, 15_000);

const access = document.getElementById('access');
if (data.user !== data.owner) {
  const showAccess = (permissions, view) => {
    const { text, title } = describeAccess(permissions, view.workflowPermissions);
    access.textContent = text;
    access.title = title;
  };
  showAccess(new Set(data.permissions), data);
  livePermissions(showAccess);
}
