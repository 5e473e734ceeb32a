// One workflow, live: summary, controls for every operation, active broadcasts, task table with
// details, graph, job log and workflow log. Controls are built once and re-evaluated on every
// delta and on every permission change the server pushes (see controls.js, permissions.js).
import { broadcastDialog } from './broadcast.js';
import { BROADCAST_FIELDS, createBroadcastList } from './broadcast-list.js';
import { actionButton, guardedField, mutateWithToast } from './controls.js';
import { messageDialog, outputsDialog } from './dialogs.js';
import { api, data, graphql, subscribe } from './gql.js';
import { drawGraph, graphOrder, graphWindow } from './graph.js';
import { livePermissions } from './permissions.js';
import { sharingEditor } from './sharing-editor.js';
import { createDetailLoader } from './task-detail-loader.js';
import { detailsFailedRow, detailsLoadingRow, detailsRow, latestMessage } from './task-details.js';
import { clockTime, countsFromGraphql, describeCounts, duration, el, flowErrorBlock, flowErrorPlace, followConnection, humanBytes, lastRunNote, relativeTime, stateBadge, statusBadge, toast } from './ui.js';
import { createWorkflowLog } from './workflow-log.js';

const WORKFLOW_FIELDS = `id name description status lastRun { outcome at failed summary } cycles runaheadLimit holdPoint verbosity graphWindowExtent lastActivity
  error { message file line column }
  stateCounts { waiting preparing submitted running succeeded failed submitFailed expired }
  edges { from to }
  ${BROADCAST_FIELDS}`;
// What the table shows of every task, kept live. A task's details (its job, script, environment)
// are asked for when its row is opened (task-detail-loader.js): with thousands of tasks they were
// most of what every viewer got when the workflow started.
const TASK_FIELDS = 'id cycle name state held queued submitNum startedAt finishedAt xtrigger xtriggerSatisfied messages { at severity text by }';
const COLUMNS = 9;
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

const id = data.workflow;
let permissions = new Set(data.permissions);
let workflow = null;
/** Cut off from the server (signed out, access withdrawn, server down): nothing more is shown. */
let cutOff = false;
const tasks = new Map();
const selected = new Set();
const expanded = new Set();
const details = createDetailLoader({
  workflow: id,
  tasks,
  isOpen: (t) => expanded.has(t),
  render: () => {
    if (workflow) renderTasks();
  },
});
const ACTIVE = new Set(['preparing', 'submitted', 'running']);
const FINAL = new Set(['succeeded', 'failed', 'submit-failed', 'expired']);

const workflowLog = createWorkflowLog({
  container: document.getElementById('workflow-log'),
  caption: document.getElementById('workflow-log-caption'),
  workflow: id,
  onError: (err) => {
    document.getElementById('workflow-log-caption').textContent = `cannot read the log: ${err.message}`;
  },
});

const livePerms = livePermissions((next) => {
  if (cutOff) return;
  permissions = next;
  // Rows carry controls too (Satisfy trigger), so re-render them as well as the bars.
  if (workflow) renderAll();
}, id);

// The owner's Share panel: this workflow's section of workflow_authorization.
if (data.user === data.owner && document.getElementById('share-panel')) {
  const share = sharingEditor({ prefix: 'share-', workflow: id });
  api('api/authorization/workflows').then((response) => share.show((response.ok && response.json[id]) || {}));
}

/** Runs a mutation on this workflow; a refusal for lack of permission re-reads permissions. */
async function run(op, args) {
  const outcome = await mutateWithToast(id, op, args);
  if (outcome.forbidden) livePerms.refresh();
  return outcome;
}

const chosenTasks = () => [...selected].map((t) => tasks.get(t)).filter(Boolean);
// Stalled counts as active: its failed tasks can be triggered, set or removed, and it can be stopped.
const isActive = (w) => w.status === 'running' || w.status === 'paused' || w.status === 'stalled';
const running = (w) => isActive(w) || w.status === 'stopping' || 'the workflow is stopped';

// ---- workflow bar ---------------------------------------------------------------------------

const workflowButtons = {
  run: [
    actionButton({ op: 'play', label: 'Play', primary: true, run: () => run('play'),
      valid: (w) => (w.error ? 'flow.yaml is invalid; fix it first' : w.status === 'stopped' || `the workflow is already ${w.status}`) }),
    actionButton({ op: 'pause', label: 'Pause', run: () => run('pause'), valid: (w) => w.status === 'running' || 'only a running workflow can be paused' }),
    actionButton({ op: 'resume', label: 'Resume', run: () => run('resume'), valid: (w) => w.status === 'paused' || 'only a paused workflow can be resumed' }),
    actionButton({ op: 'reload', label: 'Reload', run: () => run('reload'), valid: (w) => w.status !== 'stopped' || 'the workflow is stopped: Play reads flow.yaml anyway' }),
  ],
  stop: [
    actionButton({ op: 'stop', label: 'Stop', run: () => run('stop', { mode: 'clean' }), valid: (w) => isActive(w) || `the workflow is ${w.status}` }),
    actionButton({
      op: 'stop', label: 'Stop now', danger: true, run: () => run('stop', { mode: 'now' }), valid: running,
      confirm: ['Stop now?', 'The workflow stops at once; running jobs are left running and will be picked up on the next Play.'],
    }),
    actionButton({
      op: 'stop', label: 'Stop and kill jobs', danger: true, run: () => run('stop', { mode: 'kill' }), valid: running,
      confirm: ['Stop and kill every running job?', 'Running jobs are killed and the workflow stops. Their output so far is kept.'],
    }),
  ],
  clean: actionButton({
    op: 'clean', label: 'Clean', danger: true, run: () => run('clean'), valid: (w) => w.status === 'stopped' || 'stop the workflow first',
    confirm: ['Clean this workflow?', 'Its run directory, job logs and task history are deleted. This cannot be undone.'],
  }),
};

const verbosity = el('select', { id: 'verbosity', 'aria-label': 'Workflow log level' }, ...LOG_LEVELS.map((l) => el('option', { value: l }, l)));
const verbosityField = guardedField('setVerbosity', verbosity, 'Workflow log level');
verbosity.addEventListener('change', async () => {
  const outcome = await run('setVerbosity', { level: verbosity.value });
  if (!outcome.ok && workflow) verbosity.value = workflow.verbosity;
});

const holdInput = el('input', { type: 'number', id: 'hold-point', min: 1, placeholder: 'cycle', class: 'w-22', 'aria-label': 'Hold point cycle' });
const holdField = guardedField('setHoldPoint', holdInput, 'Hold point cycle');
const holdSet = actionButton({
  op: 'setHoldPoint', label: 'Set', run: () => run('setHoldPoint', { cyclePoint: Number(holdInput.value) }),
  valid: () => /^[1-9][0-9]*$/.test(holdInput.value) || 'enter the cycle point to hold after (1, 2, …)',
});
const holdRelease = actionButton({
  op: 'releaseHoldPoint', label: 'Release', run: () => run('releaseHoldPoint'),
  valid: (w) => w.holdPoint != null || [...tasks.values()].some((t) => t.held) || 'no hold point is set and no task is held',
});
holdInput.addEventListener('input', () => holdSet.update(permissions, workflow));
/** Enter in a field presses its button, when that button may be used. */
function submitOnEnter(input, control) {
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !control.button.disabled) control.button.click();
  });
}
submitOnEnter(holdInput, holdSet);

const triggerNames = el('datalist', { id: 'xtrigger-names' });
const triggerName = el('input', { type: 'text', id: 'xtrigger-name', list: 'xtrigger-names', placeholder: 'trigger name', autocomplete: 'off', class: 'w-36', 'aria-label': 'External trigger name' });
const triggerCycle = el('input', { type: 'number', id: 'xtrigger-cycle', min: 1, placeholder: 'all cycles', class: 'w-26', 'aria-label': 'Cycle point of the trigger (empty: all)' });
const triggerFields = [guardedField('extTrigger', triggerName, 'External trigger name'), guardedField('extTrigger', triggerCycle, 'Cycle point of the trigger (empty: all)')];
const triggerButton = actionButton({
  op: 'extTrigger', label: 'Satisfy', run: () => run('extTrigger', { name: triggerName.value.trim(), ...(triggerCycle.value ? { id: triggerCycle.value } : {}) }),
  valid: () => {
    if (!/^[A-Za-z0-9_.-]+$/.test(triggerName.value.trim())) return 'enter the name of the external trigger';
    return triggerCycle.value === '' || /^[1-9][0-9]*$/.test(triggerCycle.value) || 'the cycle point is a whole number from 1 (or empty for all)';
  },
});
for (const input of [triggerName, triggerCycle]) {
  input.addEventListener('input', () => triggerButton.update(permissions, workflow));
  submitOnEnter(input, triggerButton);
}

const broadcastButton = actionButton({
  op: 'broadcast', label: 'Broadcast…', run: () => broadcastDialog(id, chosenTasks(), workflow?.broadcasts ?? []),
  valid: (w) => !w.error || 'flow.yaml is invalid',
});

const group = (label, ...nodes) => el('span', { class: 'group' }, el('span', { class: 'label' }, label), ...nodes);
document.getElementById('workflow-controls').replaceChildren(
  group('Workflow', ...workflowButtons.run.map((c) => c.node)),
  el('span', { class: 'divider' }),
  group('Stop', ...workflowButtons.stop.map((c) => c.node)),
  el('span', { class: 'divider' }),
  workflowButtons.clean.node,
  el('span', { class: 'spacer' }),
  group('Log level', verbosityField.node),
);
document.getElementById('workflow-settings').replaceChildren(
  group('Hold point', holdField.node, holdSet.node, holdRelease.node),
  el('span', { class: 'divider' }),
  group('External trigger', triggerFields[0].node, triggerFields[1].node, triggerButton.node, triggerNames),
  el('span', { class: 'spacer' }),
  group('Advanced', broadcastButton.node),
);

const broadcastList = createBroadcastList({
  section: document.getElementById('broadcasts-card'),
  tbody: document.querySelector('#broadcasts tbody'),
  caption: document.getElementById('broadcasts-caption'),
  onClear: (b) => run('broadcast', { mode: 'clear', settings: {}, cyclePoints: [b.cyclePoint], namespaces: [b.namespace] }),
});

// ---- graph window ---------------------------------------------------------------------------

const extentInput = el('input', { type: 'number', id: 'window-extent', min: 0, max: 100, class: 'w-18', 'aria-label': 'Graph window extent (edges around active tasks)' });
const extentField = guardedField('setGraphWindowExtent', extentInput, 'Graph window extent (edges around active tasks)');
let extentDirty = false;
const extentApply = actionButton({
  op: 'setGraphWindowExtent', label: 'Apply',
  run: async () => {
    if ((await run('setGraphWindowExtent', { extent: Number(extentInput.value) })).ok) extentDirty = false;
  },
  valid: (w) => {
    if (!/^[0-9]+$/.test(extentInput.value) || Number(extentInput.value) > 100) return 'enter a whole number of edges from 0 to 100';
    return Number(extentInput.value) !== w.graphWindowExtent || `the window is already ${w.graphWindowExtent}`;
  },
});
extentInput.addEventListener('input', () => {
  extentDirty = true;
  extentApply.update(permissions, workflow);
});
submitOnEnter(extentInput, extentApply);
document.getElementById('graph-controls').replaceChildren(
  el('label', { class: 'check small', title: 'How many dependency edges around unfinished tasks the graph includes' }, 'Window', extentField.node),
  extentApply.node,
);

// ---- task-selection bar -----------------------------------------------------------------------

/** Valid only with a selection; `fn` then judges the selected tasks. */
const withSelection = (fn) => (ts) => (ts.length === 0 ? 'select one or more tasks first' : fn(ts));
const ids = () => [...selected];
const taskButtons = [
  actionButton({ op: 'trigger', label: 'Trigger', run: () => run('trigger', { tasks: ids() }),
    valid: withSelection((ts) => (!workflow || !isActive(workflow) ? 'the workflow is not running; play it first' : ts.some((t) => !ACTIVE.has(t.state)) || 'the selected tasks are already active')) }),
  actionButton({ op: 'hold', label: 'Hold', run: () => run('hold', { tasks: ids() }),
    valid: withSelection((ts) => ts.some((t) => !t.held && !FINAL.has(t.state)) || 'the selected tasks are held or finished') }),
  actionButton({ op: 'release', label: 'Release', run: () => run('release', { tasks: ids() }),
    valid: withSelection((ts) => ts.some((t) => t.held) || 'none of the selected tasks is held') }),
  actionButton({ op: 'poll', label: 'Poll', run: () => run('poll', { tasks: ids() }),
    valid: withSelection((ts) => ts.some((t) => ACTIVE.has(t.state)) || 'none of the selected tasks has an active job') }),
  actionButton({ op: 'setOutputs', label: 'Set outputs…', run: () => outputsDialog(id, ids()),
    valid: withSelection((ts) => ts.some((t) => !ACTIVE.has(t.state)) || 'the selected tasks have active jobs') }),
  actionButton({ op: 'message', label: 'Message…', run: () => messageDialog(id, ids()), valid: withSelection(() => true) }),
  actionButton({
    op: 'kill', label: 'Kill', danger: true, run: () => run('kill', { tasks: ids() }),
    valid: withSelection((ts) => ts.some((t) => ACTIVE.has(t.state)) || 'none of the selected tasks has an active job'),
    confirm: ['Kill the selected jobs?', 'Their running jobs are killed and the tasks marked failed.'],
  }),
  actionButton({
    op: 'remove', label: 'Remove', danger: true, run: () => run('remove', { tasks: ids() }),
    valid: withSelection((ts) => ts.some((t) => !ACTIVE.has(t.state) && t.state !== 'expired') || 'active tasks cannot be removed (kill them first), removed ones already are'),
    confirm: ['Remove the selected tasks?', 'They leave the workflow window; downstream tasks will not run unless triggered.'],
  }),
];
const selectionLabel = el('span', { class: 'label', id: 'selection-label' });
document.getElementById('task-controls').replaceChildren(selectionLabel, ...taskButtons.map((c) => c.node));

/** Re-evaluates every control against the current permissions, workflow and selection. */
function updateControls() {
  if (!workflow) return;
  for (const c of [...workflowButtons.run, ...workflowButtons.stop, workflowButtons.clean, holdSet, holdRelease, triggerButton, broadcastButton, extentApply]) {
    c.update(permissions, workflow);
  }
  for (const f of [verbosityField, holdField, extentField, ...triggerFields]) f.update(permissions);
  broadcastList.update(permissions, workflow);
  if (document.activeElement !== verbosity) verbosity.value = workflow.verbosity;
  if (!extentDirty && document.activeElement !== extentInput) extentInput.value = String(workflow.graphWindowExtent);
  const names = [...new Set([...tasks.values()].filter((t) => t.xtrigger).map((t) => t.xtrigger))].sort();
  if (triggerNames.children.length !== names.length || names.some((n, i) => triggerNames.children[i].value !== n)) {
    triggerNames.replaceChildren(...names.map((n) => el('option', { value: n })));
  }
  const chosen = chosenTasks();
  selectionLabel.textContent = chosen.length ? `${chosen.length} selected` : 'Select tasks to act on them';
  for (const c of taskButtons) c.update(permissions, chosen);
}

// ---- summary, task table, graph -------------------------------------------------------------

function renderSummary() {
  document.getElementById('wf-name').textContent = workflow.name;
  document.getElementById('wf-status').replaceChildren(statusBadge(workflow.status, workflow.error), lastRunNote(workflow) ?? '');
  document.getElementById('wf-description').textContent = workflow.description || '';
  const counts = countsFromGraphql(workflow.stateCounts);
  const item = (label, value) => el('span', {}, `${label} `, el('strong', {}, value));
  document.getElementById('wf-summary').replaceChildren(
    item('Cycles', String(workflow.cycles)),
    item('Hold point', workflow.holdPoint == null ? 'none' : String(workflow.holdPoint)),
    item('Log level', workflow.verbosity),
    item('Tasks', describeCounts(counts) || 'none'),
    item('Last activity', relativeTime(workflow.lastActivity)),
  );
  const notices = document.getElementById('notices');
  if (workflow.error) {
    notices.replaceChildren(el('div', { class: 'notice error', id: 'flow-error' },
      el('strong', {}, 'flow.yaml is invalid, so the workflow cannot start. Fix this in the file, then press Play:'),
      flowErrorBlock(workflow.error)));
  } else if (!notices.querySelector('#cut-off')) {
    notices.replaceChildren();
  }
}

function flags(task) {
  return [
    task.held ? el('span', { class: 'flag flag-held' }, 'held') : null,
    task.queued ? el('span', { class: 'flag flag-queued' }, 'queued') : null,
    task.xtrigger && !task.xtriggerSatisfied ? el('span', { class: 'flag flag-xtrigger', title: `waiting for external trigger "${task.xtrigger}"` }, `xtrigger ${task.xtrigger}`) : null,
  ].filter(Boolean);
}

function xtriggerButton(task) {
  if (!task.xtrigger || task.xtriggerSatisfied) return null;
  const control = actionButton({
    op: 'extTrigger', label: 'Satisfy trigger',
    run: () => run('extTrigger', { name: task.xtrigger, id: String(task.cycle) }),
  });
  control.update(permissions, task);
  return control.node;
}

function toggle(set, key, on) {
  if (on) set.add(key);
  else set.delete(key);
}

function taskRow(t) {
  const open = expanded.has(t.id);
  return el('tr', { class: selected.has(t.id) ? 'selected' : '', 'data-task': t.id },
    el('td', {}, el('input', {
      type: 'checkbox', 'aria-label': `Select ${t.id}`, checked: selected.has(t.id),
      onchange: (e) => { toggle(selected, t.id, e.target.checked); renderTasks(); updateControls(); },
    })),
    el('td', { class: 'num' }, String(t.cycle)),
    el('td', {},
      el('div', { class: 'task-cell' },
        el('button', {
          type: 'button', class: 'expander', 'aria-expanded': String(open), 'aria-label': `Details of ${t.id}`,
          onclick: () => { toggle(expanded, t.id, !open); if (!open) details.load([t.id]); renderTasks(); },
        }, open ? '▾' : '▸'),
        el('a', { href: '#log', class: 'task-name', onclick: () => showLog(t.id) }, t.name)),
      latestMessage(t)),
    el('td', {}, stateBadge(t.state)),
    el('td', {}, el('span', { class: 'row' }, ...flags(t))),
    el('td', { class: 'num' }, t.submitNum ? String(t.submitNum) : '—'),
    el('td', { class: 'small muted' }, clockTime(t.startedAt)),
    el('td', { class: 'num small' }, duration(t.startedAt, t.finishedAt)),
    el('td', { class: 'actions' }, xtriggerButton(t)));
}

// The task table's order, remembered per browser: by name, or as the graph reads.
const TASK_ORDER_KEY = 'flotilla.taskOrder';
let taskOrder = localStorage.getItem(TASK_ORDER_KEY) === 'graph' ? 'graph' : 'name';
for (const radio of document.querySelectorAll('input[name="task-order"]')) {
  radio.checked = radio.value === taskOrder;
  radio.addEventListener('change', () => {
    taskOrder = radio.value;
    localStorage.setItem(TASK_ORDER_KEY, taskOrder);
    renderTasks();
  });
}

/** What to do about an empty task list: Play only when Play is what would help. */
function noTasksHint() {
  if (!workflow) return '';
  if (workflow.error) return `Nothing can run until flow.yaml is fixed (${flowErrorPlace(workflow.error)}): see the message above. Play comes on once the file is valid.`;
  if (workflow.status !== 'stopped') return `The workflow is ${workflow.status}; tasks appear here as they enter the window.`;
  if (!permissions.has('play')) return 'The workflow is stopped. You may not start it: its owner or someone they let control it can.';
  return 'Press Play to start this workflow.';
}

/** A stopped workflow lists the tasks that wait for it to be played: say so. */
function tasksCaption(list) {
  if (workflow?.status !== 'stopped' || !list.some((t) => t.state === 'waiting')) return '';
  return 'Stopped: waiting tasks run once the workflow is played.';
}

function detailsRowOf(t) {
  if (details.has(t.id)) return detailsRow(t, COLUMNS);
  const failure = details.failure(t.id);
  return failure === undefined ? detailsLoadingRow(t, COLUMNS) : detailsFailedRow(t, COLUMNS, failure, () => details.load([t.id]));
}

function renderTasks() {
  const edges = workflow?.edges ?? [];
  const byName = [...tasks.values()].sort((a, b) => a.cycle - b.cycle || a.name.localeCompare(b.name));
  const list = taskOrder === 'graph' ? graphOrder(byName, edges) : byName;
  const rows = [];
  for (const t of list) {
    rows.push(taskRow(t));
    if (expanded.has(t.id)) rows.push(detailsRowOf(t));
  }
  document.querySelector('#tasks tbody').replaceChildren(...rows);
  document.getElementById('no-tasks').hidden = list.length > 0;
  document.getElementById('no-tasks-hint').textContent = noTasksHint();
  document.getElementById('tasks-caption').textContent = tasksCaption(list);
  document.getElementById('select-all').checked = list.length > 0 && list.every((t) => selected.has(t.id));
  const inWindow = graphWindow(tasks, edges, workflow?.graphWindowExtent ?? 1);
  drawGraph(document.getElementById('graph'), inWindow, showLog);
  const shown = inWindow.tasks.length;
  document.getElementById('graph-caption').textContent = `${shown} of ${list.length} task${list.length === 1 ? '' : 's'}`;
  renderLogChoices();
}

document.getElementById('select-all').addEventListener('change', (e) => {
  selected.clear();
  if (e.target.checked) for (const t of tasks.keys()) selected.add(t);
  renderTasks();
  updateControls();
});

function renderAll() {
  renderSummary();
  renderTasks();
  updateControls();
}

// ---- job log --------------------------------------------------------------------------------

const log = { task: null, file: 'job.out' };
const logView = document.getElementById('log');
const logTask = document.getElementById('log-task');

function renderLogChoices() {
  const choices = [...tasks.values()].sort((a, b) => a.cycle - b.cycle || a.name.localeCompare(b.name)).map((t) => t.id);
  const current = logTask.value;
  logTask.replaceChildren(el('option', { value: '' }, 'Choose a task…'), ...choices.map((t) => el('option', { value: t, selected: t === (log.task ?? current) }, t)));
}

function showLog(taskId) {
  log.task = taskId;
  logTask.value = taskId;
  loadLog();
}

async function loadLog() {
  if (!log.task) return;
  const submit = document.getElementById('log-submit').value;
  const tail = Number(document.getElementById('log-tail').value) || 200;
  try {
    const result = await graphql(
      'query Log($w: ID!, $t: String!, $s: Int, $f: String, $n: Int) { jobLog(workflow: $w, task: $t, submitNum: $s, file: $f, tail: $n) { content size shown truncated submitNum } }',
      { w: id, t: log.task, s: submit ? Number(submit) : null, f: log.file, n: tail },
    );
    const { content, size, shown, truncated, submitNum } = result.jobLog;
    const atBottom = logView.scrollTop + logView.clientHeight >= logView.scrollHeight - 8;
    logView.textContent = content || '(empty so far)';
    logView.classList.toggle('empty-log', !content);
    const amount = truncated ? `last ${humanBytes(shown)} of ${humanBytes(size)} shown` : humanBytes(size);
    const download = `${data.root}workflows/${encodeURIComponent(id)}/job-file?${new URLSearchParams({ task: log.task, file: log.file, submit: String(submitNum) })}`;
    document.getElementById('log-meta').replaceChildren(
      `${log.task} · submit ${submitNum} · ${log.file} · `,
      el('span', { class: truncated ? 'log-truncated' : '' }, amount),
      ' · ',
      el('a', { href: download, download: '', title: `The whole ${log.file} (${humanBytes(size)})` }, truncated ? 'download the whole file' : 'download'),
    );
    if (atBottom || document.getElementById('log-follow').checked) logView.scrollTop = logView.scrollHeight;
  } catch (err) {
    logView.textContent = err.message;
    logView.classList.add('empty-log');
    document.getElementById('log-meta').textContent = '';
  }
}

logTask.addEventListener('change', () => {
  log.task = logTask.value || null;
  loadLog();
});
for (const tab of document.querySelectorAll('.tabs button')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll('.tabs button')) other.setAttribute('aria-selected', String(other === tab));
    log.file = tab.dataset.file;
    loadLog();
  });
}
document.getElementById('log-tail').addEventListener('change', loadLog);
document.getElementById('log-submit').addEventListener('change', loadLog);
// Following a log re-reads it while its task is active; finished logs do not change.
setInterval(() => {
  const task = log.task && tasks.get(log.task);
  if (task && document.getElementById('log-follow').checked && ACTIVE.has(task.state)) loadLog();
}, 2000);

// ---- data -----------------------------------------------------------------------------------

function applyDelta(delta) {
  if (delta.pruned?.workflow) {
    workflow = null;
    tasks.clear();
    details.replacedAll();
    // The server says no more, on purpose: a workflow you may no longer read looks removed.
    document.getElementById('notices').replaceChildren(el('div', { class: 'notice warn', id: 'workflow-gone' }, 'This workflow is gone: it was removed, or is no longer shared with you.'));
    return;
  }
  if (delta.added?.workflow) {
    // Back (shared again, or made again): the notice no longer holds.
    if (workflow === null) document.getElementById('workflow-gone')?.remove();
    workflow = { ...workflow, ...delta.added.workflow };
  }
  for (const t of delta.added?.tasks ?? []) tasks.set(t.id, t);
  details.replaced((delta.added?.tasks ?? []).map((t) => t.id));
  if (delta.updated?.workflow && workflow) {
    const patch = delta.updated.workflow;
    workflow = { ...workflow, ...patch, stateCounts: patch.stateCounts ? { ...patch.stateCounts, submitFailed: patch.stateCounts['submit-failed'] } : workflow.stateCounts };
  }
  for (const t of delta.updated?.tasks ?? []) if (tasks.has(t.id)) tasks.set(t.id, { ...tasks.get(t.id), ...t });
  for (const t of delta.pruned?.tasks ?? []) {
    tasks.delete(t);
    selected.delete(t);
    expanded.delete(t);
    details.replaced([t]);
  }
}

async function load() {
  try {
    const result = await graphql(`query W($id: ID!) { workflow(id: $id) { ${WORKFLOW_FIELDS} tasks { ${TASK_FIELDS} } } }`, { id });
    if (cutOff) return;
    if (!result.workflow) {
      document.getElementById('notices').replaceChildren(el('div', { class: 'notice warn' }, `There is no workflow named ${id}.`));
      return;
    }
    workflow = result.workflow;
    tasks.clear();
    for (const t of workflow.tasks) tasks.set(t.id, t);
    details.replacedAll();
    renderAll();
    workflowLog.refresh();
  } catch (err) {
    if (!cutOff) document.getElementById('notices').replaceChildren(el('div', { class: 'notice error' }, err.message));
  }
}

let pending = false;
subscribe(
  `subscription D($ws: [ID!]) { deltas(workflows: $ws) { workflow added { workflow { ${WORKFLOW_FIELDS} } tasks { ${TASK_FIELDS} } } updated { workflow tasks } pruned { workflow tasks } } }`,
  { ws: [id] },
  {
    onNext: ({ deltas }) => {
      if (cutOff) return;
      applyDelta(deltas);
      workflowLog.refresh();
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          if (workflow) renderAll();
        });
      }
    },
    onError: (message) => toast(message, 'error'),
    onStatus: (status) => {
      if (!followConnection(document.getElementById('live'), status, data.owner)) return;
      // Cut off (signed out, access withdrawn, server down): show nothing stale, ask nothing more.
      cutOff = true;
      workflowLog.stop();
      permissions = new Set();
      workflow = null;
      tasks.clear();
      details.stop();
    },
  },
);
load();
// Run times of running tasks move on even when nothing else changes.
setInterval(() => {
  if (workflow && [...tasks.values()].some((t) => t.state === 'running')) renderTasks();
}, 5000);
