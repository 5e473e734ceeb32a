// In-page form dialogs (<dialog>, styled by the shared stylesheet) for the operations that take
// more than a click: message and set_outputs on the selected tasks. A refusal from the server is
// shown inside the dialog, which stays open so that nothing typed is lost.
import { runMutation } from './controls.js';
import { el, toast } from './ui.js';

/** A labelled form field; `hint` is a short line under it. */
export function field(label, input, hint) {
  return el('label', { class: 'field' }, el('span', { class: 'field-label' }, label), input, hint ? el('span', { class: 'hint' }, hint) : null);
}

/**
 * Opens a modal form. `onSubmit()` resolves to null when done (the dialog closes) or to a message
 * to show (the dialog stays open).
 */
export function formDialog({ title, intro, body, submitLabel, onSubmit, wide }) {
  const error = el('div', { class: 'notice error', role: 'alert', hidden: true });
  const submit = el('button', { type: 'submit', class: 'btn primary' }, submitLabel);
  const dialog = el('dialog', { class: `form-dialog${wide ? ' wide' : ''}`, 'aria-label': title });
  const form = el('form', { novalidate: true },
    el('h2', {}, title),
    intro ? el('p', { class: 'muted small' }, intro) : null,
    ...body,
    error,
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Cancel'),
      submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const problem = await onSubmit();
    submit.disabled = false;
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
    } else {
      dialog.close();
    }
  });
  dialog.append(form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** "1/build", or "3 tasks (1/build, 1/test, 2/build)". */
export function describeTasks(ids) {
  if (ids.length === 1) return ids[0];
  const shown = ids.slice(0, 4).join(', ');
  return `${ids.length} tasks (${shown}${ids.length > 4 ? ', …' : ''})`;
}

/** Submits and reports: null when done (with a toast), the server's message when refused. */
async function submitted(workflow, op, args) {
  const outcome = await runMutation(workflow, op, args);
  if (!outcome.ok) return outcome.message;
  toast(outcome.message);
  return null;
}

const SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'CRITICAL'];

export function messageDialog(workflow, taskIds) {
  const severity = el('select', { name: 'severity', id: 'message-severity' },
    ...SEVERITIES.map((s) => el('option', { value: s, selected: s === 'INFO' }, s)));
  const text = el('textarea', { name: 'text', id: 'message-text', rows: 4, maxlength: 4000, placeholder: 'What should people looking at these tasks know?' });
  formDialog({
    title: 'Add a message',
    intro: `Attached to ${describeTasks(taskIds)}. It shows with the task and in the workflow log, under your name.`,
    body: [field('Severity', severity), field('Message', text, 'Up to 4,000 characters.')],
    submitLabel: 'Add message',
    onSubmit: () => {
      const value = text.value.trim();
      if (!value) return 'Write the message first.';
      return submitted(workflow, 'message', { tasks: taskIds, severity: severity.value, text: value });
    },
  });
  text.focus();
}

const OUTPUT_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function outputsDialog(workflow, taskIds) {
  const outcome = (value, label, hint, checked) =>
    el('label', { class: 'choice' },
      el('input', { type: 'radio', name: 'outcome', value, checked }),
      el('span', {}, el('strong', {}, label), el('span', { class: 'hint' }, hint)));
  const outcomes = el('div', { class: 'choices' },
    outcome('succeeded', 'succeeded', 'the task counts as done; its dependants may run', true),
    outcome('failed', 'failed', 'the task counts as failed; an earlier success no longer satisfies dependants'),
    outcome('', 'neither', 'only the outputs named below'));
  const custom = el('input', { type: 'text', id: 'outputs-custom', placeholder: 'e.g. data_ready, report', autocomplete: 'off' });
  formDialog({
    title: 'Set outputs',
    intro: `Marks outputs of ${describeTasks(taskIds)} as complete, so that tasks waiting for them can run. Tasks with an active job are left alone.`,
    body: [
      el('div', { class: 'field' }, el('span', { class: 'field-label' }, 'Outcome'), outcomes),
      field('Other outputs', custom, 'Custom output names, separated by commas or spaces.'),
    ],
    submitLabel: 'Set outputs',
    onSubmit: () => {
      const chosen = outcomes.querySelector('input:checked')?.value;
      const names = custom.value.split(/[\s,]+/).filter(Boolean);
      const bad = names.find((n) => !OUTPUT_NAME.test(n));
      if (bad) return `"${bad}" is not an output name: start with a letter, then letters, digits, "_" or "-".`;
      const outputs = [...new Set([...(chosen ? [chosen] : []), ...names])];
      if (outputs.length === 0) return 'Choose an outcome or name at least one output.';
      return submitted(workflow, 'setOutputs', { tasks: taskIds, outputs });
    },
  });
}
