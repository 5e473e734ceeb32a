// What the task table shows beyond its columns: the latest message under a task's name, and an
// expandable row with its job, outputs, messages and the settings a job would get now
// (broadcasts included).
import { clockTime, el } from './ui.js';

function severityBadge(severity) {
  return el('span', { class: `sev sev-${severity.toLowerCase()}` }, severity);
}

/** One line under the task name: the newest message, or nothing. */
export function latestMessage(task) {
  const last = task.messages?.at(-1);
  if (!last) return null;
  const more = task.messages.length > 1 ? ` (+${task.messages.length - 1})` : '';
  return el('div', { class: 'task-message', title: `${last.severity} from ${last.by} at ${clockTime(last.at)}: ${last.text}` },
    severityBadge(last.severity), el('span', {}, last.text), more ? el('span', { class: 'faint' }, more) : null);
}

function item(label, ...value) {
  return el('div', { class: 'detail' }, el('div', { class: 'detail-label' }, label), el('div', {}, ...value));
}

/** Environment variables or sbatch directives: one row per name. */
function nameValueTable(values) {
  return el('table', { class: 'env' }, ...Object.entries(values).map(([k, v]) => el('tr', {}, el('td', { class: 'mono' }, k), el('td', { class: 'mono' }, v))));
}

/** The opened row while its details are on their way. */
export function detailsLoadingRow(task, columns) {
  return el('tr', { class: 'details', 'data-task': task.id, 'aria-busy': 'true' },
    el('td', { colspan: columns }, el('span', { class: 'faint' }, `Loading the details of ${task.id}…`)));
}

/** The opened row when its details could not be fetched: why, and a way to try again. */
export function detailsFailedRow(task, columns, message, retry) {
  return el('tr', { class: 'details', 'data-task': task.id },
    el('td', { colspan: columns },
      el('div', { class: 'row' },
        el('span', { class: 'notice error' }, `Could not load the details of ${task.id}: ${message}`),
        el('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again'))));
}

export function detailsRow(task, columns) {
  const messages = task.messages?.length
    ? el('ul', { class: 'messages' }, ...[...task.messages].reverse().map((m) => el('li', {},
      severityBadge(m.severity), ' ', el('span', {}, m.text), el('span', { class: 'faint small' }, ` · ${m.by}, ${clockTime(m.at)}`))))
    : el('span', { class: 'faint' }, 'none');
  const env = task.env && Object.keys(task.env).length ? nameValueTable(task.env) : el('span', { class: 'faint' }, 'none');
  const job = [
    task.submitNum ? `submit ${task.submitNum}` : 'not submitted yet',
    task.pid ? `pid ${task.pid}` : null,
    task.jobId ? `Slurm job ${task.jobId}` : null,
    task.exitCode != null ? `exit code ${task.exitCode}` : null,
    task.finishedAt ? `finished ${clockTime(task.finishedAt)}` : null,
  ].filter(Boolean).join(' · ');
  return el('tr', { class: 'details', 'data-task': task.id },
    el('td', { colspan: columns },
      el('div', { class: 'details-grid' },
        el('div', {},
          item('Job', job),
          item('Platform', task.platform ?? 'local (this machine)'),
          task.directives && Object.keys(task.directives).length
            ? item('Directives', nameValueTable(task.directives))
            : null,
          item('Outputs', task.outputs?.length ? el('span', { class: 'perm-chips' }, ...task.outputs.map((o) => el('span', { class: 'chip' }, o))) : el('span', { class: 'faint' }, 'none yet')),
          task.xtrigger ? item('External trigger', `${task.xtrigger}: ${task.xtriggerSatisfied ? 'satisfied' : 'waiting'}`) : null,
          item('Messages', messages)),
        el('div', {},
          item('Script (now, broadcasts included)', el('pre', { class: 'script' }, task.script ?? '')),
          item('Environment', env)))));
}
