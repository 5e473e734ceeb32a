// One workflow, live: summary, controls, task table, graph and job log.
import { data, graphql, root, subscribe } from './gql.js';
import { drawGraph } from './graph.js';
import { clockTime, confirmAction, countsFromGraphql, describeCounts, duration, el, relativeTime, setLive, showRevoked, stateBadge, statusBadge, toast } from './ui.js';

const WORKFLOW_FIELDS = `id name description status cycles runaheadLimit holdPoint verbosity graphWindowExtent lastActivity
  error { message file line }
  stateCounts { waiting preparing submitted running succeeded failed submitFailed expired }
  edges { from to }`;
const TASK_FIELDS = 'id cycle name state held queued submitNum startedAt finishedAt exitCode xtrigger xtriggerSatisfied';

const id = data.workflow;
let permissions = new Set(data.permissions);
let workflow = null;
const tasks = new Map();
const selected = new Set();
const ACTIVE = new Set(['preparing', 'submitted', 'running']);

// ---- controls -------------------------------------------------------------------------------

/** Each control: the mutation, its label, when it makes sense, and whether to confirm first. */
const WORKFLOW_CONTROLS = [
  { op: 'play', label: 'Play', primary: true, valid: (w) => w.status === 'stopped' || 'already running' },
  { op: 'pause', label: 'Pause', valid: (w) => w.status === 'running' || 'only a running workflow can be paused' },
  { op: 'resume', label: 'Resume', valid: (w) => w.status === 'paused' || 'only a paused workflow can be resumed' },
  { op: 'reload', label: 'Reload', valid: (w) => w.status !== 'stopped' || 'the workflow is stopped: Play reads flow.yaml anyway' },
  { op: 'stop', label: 'Stop', args: { mode: 'clean' }, valid: (w) => isActive(w) || 'the workflow is not running' },
  {
    op: 'stop', label: 'Stop now', args: { mode: 'now' }, danger: true, valid: (w) => isActive(w) || 'the workflow is not running',
    confirm: ['Stop now?', 'The workflow stops at once; running jobs are left running and will be picked up on the next Play.'],
  },
  {
    op: 'stop', label: 'Stop and kill jobs', args: { mode: 'kill' }, danger: true, valid: (w) => isActive(w) || 'the workflow is not running',
    confirm: ['Stop and kill every running job?', 'Running jobs are killed and the workflow stops. Their output so far is kept.'],
  },
  {
    op: 'clean', label: 'Clean', danger: true, valid: (w) => w.status === 'stopped' || 'stop the workflow first',
    confirm: ['Clean this workflow?', 'Its run directory, job logs and task history are deleted. This cannot be undone.'],
  },
];
const RELEASE_HOLD_POINT = { op: 'releaseHoldPoint', label: 'Release', valid: (w) => w.holdPoint != null || 'no hold point is set' };

const TASK_CONTROLS = [
  { op: 'trigger', label: 'Trigger', valid: () => true },
  { op: 'hold', label: 'Hold', valid: (ts) => ts.some((t) => !t.held) || 'the selected tasks are already held' },
  { op: 'release', label: 'Release', valid: (ts) => ts.some((t) => t.held) || 'none of the selected tasks is held' },
  { op: 'poll', label: 'Poll', valid: (ts) => ts.some((t) => ACTIVE.has(t.state)) || 'none of the selected tasks has an active job' },
  { op: 'setOutputs', label: 'Mark succeeded', valid: (ts) => ts.some((t) => t.state !== 'succeeded') || 'the selected tasks have already succeeded' },
  {
    op: 'kill', label: 'Kill', danger: true, valid: (ts) => ts.some((t) => ACTIVE.has(t.state)) || 'none of the selected tasks has an active job',
    confirm: ['Kill the selected jobs?', 'Their running jobs are killed and the tasks marked failed.'],
  },
  {
    op: 'remove', label: 'Remove', danger: true, valid: () => true,
    confirm: ['Remove the selected tasks?', 'They leave the workflow window; downstream tasks will not run unless triggered.'],
  },
];

function isActive(w) {
  return w.status === 'running' || w.status === 'paused';
}

function opName(op) {
  return op.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Why a control is disabled, or null when it may be used. */
function whyDisabled(control, subject) {
  if (!permissions.has(control.op)) {
    return `You do not have the "${opName(control.op)}" permission on ${data.owner}'s workflows.`;
  }
  const valid = control.valid(subject);
  return valid === true ? null : `Not now: ${valid}.`;
}

function controlButton(control, subject, run) {
  const why = whyDisabled(control, subject);
  const button = el('button', {
    type: 'button',
    class: `btn small${control.primary ? ' primary' : ''}${control.danger ? ' danger' : ''}`,
    disabled: why !== null,
    'aria-label': why ? `${control.label} (unavailable: ${why})` : control.label,
    onclick: async () => {
      if (control.confirm && !(await confirmAction(control.confirm[0], control.confirm[1], control.label))) return;
      run(control);
    },
  }, control.label);
  return why ? el('span', { 'data-why': why }, button) : button;
}

async function mutate(op, variables, argDefs = '', argUse = '') {
  try {
    const result = await graphql(
      `mutation Run($workflows: [ID!]!${argDefs}) { ${op}(workflows: $workflows${argUse}) { workflow ok message } }`,
      { workflows: [id], ...variables },
    );
    const outcome = result[op][0];
    if (outcome && !outcome.ok) toast(outcome.message, 'error');
    else toast(outcome?.message || `${op}: done`);
  } catch (err) {
    toast(err.message, 'error');
    if (err.code === 'FORBIDDEN') refreshPermissions();
  }
}

function runWorkflowControl(control) {
  if (control.op === 'stop') mutate('stop', { mode: control.args.mode }, ', $mode: String', ', mode: $mode');
  else mutate(control.op, {});
}

function runTaskControl(control) {
  const ids = [...selected];
  mutate(control.op, { tasks: ids }, ', $tasks: [String!]!', ', tasks: $tasks');
}

function renderWorkflowControls() {
  const bar = document.getElementById('workflow-controls');
  const buttons = WORKFLOW_CONTROLS.map((c) => controlButton(c, workflow, runWorkflowControl));
  const holdInput = el('input', { type: 'number', min: 1, placeholder: 'cycle', style: 'width:5.5rem', 'aria-label': 'Hold point cycle' });
  const holdControl = { op: 'setHoldPoint', label: 'Set', valid: () => true };
  const holdButton = controlButton(holdControl, workflow, () => {
    const cyclePoint = Number(holdInput.value);
    if (!Number.isInteger(cyclePoint) || cyclePoint < 1) {
      toast('Enter a cycle point (1, 2, …) to hold after.', 'error');
      return;
    }
    mutate('setHoldPoint', { cyclePoint }, ', $cyclePoint: Int!', ', cyclePoint: $cyclePoint');
  });
  holdInput.disabled = !permissions.has('setHoldPoint');
  bar.replaceChildren(
    el('span', { class: 'group' }, el('span', { class: 'label' }, 'Workflow'), ...buttons),
    el('span', { class: 'divider' }),
    el('span', { class: 'group' }, el('span', { class: 'label' }, 'Hold point'), holdInput, holdButton,
      controlButton(RELEASE_HOLD_POINT, workflow, runWorkflowControl)),
  );
}

function renderTaskControls() {
  const bar = document.getElementById('task-controls');
  const chosen = [...selected].map((t) => tasks.get(t)).filter(Boolean);
  const label = el('span', { class: 'label' }, chosen.length ? `${chosen.length} selected` : 'Select tasks to act on them');
  const buttons = TASK_CONTROLS.map((c) => {
    if (chosen.length === 0) {
      const why = permissions.has(c.op) ? 'Select one or more tasks first.' : whyDisabled(c, chosen);
      return el('span', { 'data-why': why }, el('button', { type: 'button', class: `btn small${c.danger ? ' danger' : ''}`, disabled: true }, c.label));
    }
    return controlButton(c, chosen, runTaskControl);
  });
  bar.replaceChildren(label, ...buttons);
}

// ---- summary, task table, graph -------------------------------------------------------------

function renderSummary() {
  if (!workflow) return;
  document.getElementById('wf-name').textContent = workflow.name;
  document.getElementById('wf-status').replaceChildren(statusBadge(workflow.status, workflow.error));
  document.getElementById('wf-description').textContent = workflow.description || '';
  const counts = countsFromGraphql(workflow.stateCounts);
  const item = (label, value) => el('span', {}, `${label} `, el('strong', {}, value));
  document.getElementById('wf-summary').replaceChildren(
    item('Cycles', String(workflow.cycles)),
    item('Hold point', workflow.holdPoint == null ? 'none' : String(workflow.holdPoint)),
    item('Window', `${workflow.graphWindowExtent}`),
    item('Tasks', describeCounts(counts) || 'none'),
    item('Last activity', relativeTime(workflow.lastActivity)),
  );
  const notices = document.getElementById('notices');
  if (workflow.error) {
    const where = [workflow.error.file, workflow.error.line].filter(Boolean).join(':');
    notices.replaceChildren(el('div', { class: 'notice error' }, `flow.yaml is invalid${where ? ` (${where})` : ''}: ${workflow.error.message}`));
  } else if (!notices.querySelector('.revoked')) {
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
  const control = { op: 'extTrigger', label: 'Satisfy trigger', valid: () => true };
  return controlButton(control, task, () =>
    mutate('extTrigger', { name: task.xtrigger, id: String(task.cycle) }, ', $name: String!, $id: String', ', name: $name, id: $id'));
}

function renderTasks() {
  const list = [...tasks.values()].sort((a, b) => a.cycle - b.cycle || a.name.localeCompare(b.name));
  const tbody = document.querySelector('#tasks tbody');
  tbody.replaceChildren(...list.map((t) => el('tr', { class: selected.has(t.id) ? 'selected' : '' },
    el('td', {}, el('input', {
      type: 'checkbox', 'aria-label': `Select ${t.id}`, checked: selected.has(t.id),
      onchange: (e) => { e.target.checked ? selected.add(t.id) : selected.delete(t.id); renderTasks(); renderTaskControls(); },
    })),
    el('td', { class: 'num' }, String(t.cycle)),
    el('td', {}, el('a', { href: '#log', class: 'task-name', onclick: () => showLog(t.id) }, t.name)),
    el('td', {}, stateBadge(t.state)),
    el('td', {}, el('span', { class: 'row' }, ...flags(t))),
    el('td', { class: 'num' }, t.submitNum ? String(t.submitNum) : '—'),
    el('td', { class: 'small muted' }, clockTime(t.startedAt)),
    el('td', { class: 'num small' }, duration(t.startedAt, t.finishedAt)),
    el('td', {}, xtriggerButton(t)))));
  document.getElementById('no-tasks').hidden = list.length > 0;
  document.getElementById('select-all').checked = list.length > 0 && list.every((t) => selected.has(t.id));
  drawGraph(document.getElementById('graph'), tasks, workflow?.edges ?? [], showLog);
  document.getElementById('graph-caption').textContent = `${list.length} task${list.length === 1 ? '' : 's'} in the window`;
  renderLogChoices();
}

document.getElementById('select-all').addEventListener('change', (e) => {
  selected.clear();
  if (e.target.checked) for (const t of tasks.keys()) selected.add(t);
  renderTasks();
  renderTaskControls();
});

function renderAll() {
  renderSummary();
  renderWorkflowControls();
  renderTasks();
  renderTaskControls();
}

// ---- job log --------------------------------------------------------------------------------

const log = { task: null, file: 'job.out', timer: null };
const logView = document.getElementById('log');
const logTask = document.getElementById('log-task');

function renderLogChoices() {
  const ids = [...tasks.values()].sort((a, b) => a.cycle - b.cycle || a.name.localeCompare(b.name)).map((t) => t.id);
  const current = logTask.value;
  logTask.replaceChildren(el('option', { value: '' }, 'Choose a task…'), ...ids.map((t) => el('option', { value: t, selected: t === (log.task ?? current) }, t)));
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
      'query Log($w: ID!, $t: String!, $s: Int, $f: String, $n: Int) { jobLog(workflow: $w, task: $t, submitNum: $s, file: $f, tail: $n) { content size submitNum path } }',
      { w: id, t: log.task, s: submit ? Number(submit) : null, f: log.file, n: tail },
    );
    const { content, size, submitNum } = result.jobLog;
    const atBottom = logView.scrollTop + logView.clientHeight >= logView.scrollHeight - 8;
    logView.textContent = content || '(empty so far)';
    logView.classList.toggle('empty-log', !content);
    document.getElementById('log-meta').textContent = `${log.task} · submit ${submitNum} · ${log.file} · ${size} bytes`;
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

async function refreshPermissions() {
  try {
    const result = await graphql('{ me { permissions } }');
    permissions = new Set(result.me.permissions);
    renderWorkflowControls();
    renderTaskControls();
  } catch {
    permissions = new Set();
  }
}

function applyDelta(delta) {
  if (delta.pruned?.workflow) {
    workflow = null;
    tasks.clear();
    document.getElementById('notices').replaceChildren(el('div', { class: 'notice warn' }, 'This workflow was removed.'));
    return;
  }
  if (delta.added?.workflow) workflow = { ...workflow, ...delta.added.workflow };
  for (const t of delta.added?.tasks ?? []) tasks.set(t.id, t);
  if (delta.updated?.workflow && workflow) {
    const patch = delta.updated.workflow;
    workflow = { ...workflow, ...patch, stateCounts: patch.stateCounts ? { ...patch.stateCounts, submitFailed: patch.stateCounts['submit-failed'] } : workflow.stateCounts };
  }
  for (const t of delta.updated?.tasks ?? []) if (tasks.has(t.id)) tasks.set(t.id, { ...tasks.get(t.id), ...t });
  for (const t of delta.pruned?.tasks ?? []) {
    tasks.delete(t);
    selected.delete(t);
  }
}

async function load() {
  try {
    const result = await graphql(`query W($id: ID!) { workflow(id: $id) { ${WORKFLOW_FIELDS} tasks { ${TASK_FIELDS} } } }`, { id });
    if (!result.workflow) {
      document.getElementById('notices').replaceChildren(el('div', { class: 'notice warn' }, `There is no workflow named ${id}.`));
      return;
    }
    workflow = result.workflow;
    tasks.clear();
    for (const t of workflow.tasks) tasks.set(t.id, t);
    renderAll();
  } catch (err) {
    toast(err.message, 'error');
  }
}

let pending = false;
subscribe(
  `subscription D($ws: [ID!]) { deltas(workflows: $ws) { workflow added { workflow { ${WORKFLOW_FIELDS} } tasks { ${TASK_FIELDS} } } updated { workflow tasks } pruned { workflow tasks } } }`,
  { ws: [id] },
  {
    onNext: ({ deltas }) => {
      applyDelta(deltas);
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
      setLive(document.getElementById('live'), status);
      if (status === 'revoked') {
        showRevoked(document.getElementById('notices'), data.owner);
        permissions = new Set();
        workflow = null;
        tasks.clear();
      }
    },
  },
);
load();
// Run times of running tasks move on even when nothing else changes.
setInterval(() => {
  if (workflow && [...tasks.values()].some((t) => t.state === 'running')) renderTasks();
}, 5000);
