// The broadcast dialog: set or clear environment and script overrides for task names or globs and
// cycle points, at run time. The server keeps the overrides; the page shows the active ones (in
// their own panel and here) and their effect in each task's settings (details row).
import { broadcastSettings, broadcastTarget } from './broadcast-list.js';
import { runMutation } from './controls.js';
import { field, formDialog } from './dialogs.js';
import { el, toast } from './ui.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAMESPACE = /^[A-Za-z0-9_*?[\]-]+$/;
const CYCLE_POINT = /^([1-9][0-9]{0,8}|\*)$/;

const list = (text) => text.split(/[\s,]+/).filter(Boolean);

/** KEY=value lines (set) or KEY lines (clear) → { env } or an error naming the line. */
function parseEnv(text, mode) {
  const env = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    if (!ENV_NAME.test(key)) return { error: `Environment, line ${i + 1}: "${key}" is not a variable name (letters, digits and "_", not starting with a digit).` };
    if (mode === 'set' && eq === -1) return { error: `Environment, line ${i + 1}: write NAME=value.` };
    env[key] = mode === 'set' ? line.slice(eq + 1) : '';
  }
  return { env };
}

/**
 * Opens the dialog. `tasks`: the selected tasks (their names and cycle points fill the targets);
 * `active`: the workflow's active broadcasts.
 */
export function broadcastDialog(workflow, tasks, active) {
  const modeSet = el('input', { type: 'radio', name: 'mode', value: 'set', checked: true });
  const modeClear = el('input', { type: 'radio', name: 'mode', value: 'clear' });
  const modes = el('div', { class: 'segmented' },
    el('label', {}, modeSet, el('span', {}, 'Set overrides')),
    el('label', {}, modeClear, el('span', {}, 'Clear overrides')));
  const namespaces = el('input', { type: 'text', id: 'broadcast-namespaces', autocomplete: 'off', placeholder: 'every task', value: [...new Set(tasks.map((t) => t.name))].join(', ') });
  const points = el('input', { type: 'text', id: 'broadcast-points', autocomplete: 'off', placeholder: 'every cycle point', value: [...new Set(tasks.map((t) => t.cycle))].sort((a, b) => a - b).join(', ') });
  const env = el('textarea', { id: 'broadcast-env', rows: 3, spellcheck: 'false', class: 'mono' });
  const scriptOn = el('input', { type: 'checkbox', id: 'broadcast-script-on' });
  const script = el('textarea', { id: 'broadcast-script', rows: 3, spellcheck: 'false', class: 'mono', placeholder: 'echo "the new script"', disabled: true });
  const envField = field('Environment', env);
  const scriptLabel = el('span', {});
  const clearHint = el('p', { class: 'hint', hidden: true }, 'Leave both empty to clear every override of the matching tasks and cycle points.');

  const sync = () => {
    const set = modeSet.checked;
    env.placeholder = set ? 'EPOCHS=5\nDATA_DIR=/scratch/run2' : 'EPOCHS\nDATA_DIR';
    envField.querySelector('.field-label').textContent = set ? 'Environment (NAME=value, one per line)' : 'Variables to clear (one name per line)';
    scriptLabel.textContent = set ? 'Replace the script' : 'Clear the script override';
    script.hidden = !set;
    script.disabled = !set || !scriptOn.checked;
    clearHint.hidden = set;
  };
  modeSet.addEventListener('change', sync);
  modeClear.addEventListener('change', sync);
  scriptOn.addEventListener('change', sync);
  sync();

  const current = active.length
    ? el('ul', { class: 'history', id: 'broadcast-active' }, ...active.map((b) => el('li', {}, el('span', { class: 'faint' }, broadcastTarget(b)), ' ', broadcastSettings(b))))
    : el('p', { class: 'hint' }, 'No broadcast is active: every task runs as flow.yaml says.');

  formDialog({
    title: 'Broadcast',
    wide: true,
    intro: 'Changes the environment or script that matching tasks get from now on, without editing flow.yaml. Jobs already running keep what they started with.',
    body: [
      modes,
      el('div', { class: 'field-row' },
        field('Tasks', namespaces, 'Names or globs (train, *_qc), comma-separated. Empty: every task.'),
        field('Cycle points', points, '1, 2, … comma-separated. Empty: every cycle point.')),
      envField,
      el('div', { class: 'field' }, el('label', { class: 'check' }, scriptOn, scriptLabel), script),
      clearHint,
      el('details', { class: 'history-box', open: active.length > 0 }, el('summary', {}, `Active broadcasts (${active.length})`), current),
    ],
    submitLabel: 'Broadcast',
    onSubmit: async () => {
      const mode = modeSet.checked ? 'set' : 'clear';
      const names = list(namespaces.value);
      const badName = names.find((n) => !NAMESPACE.test(n));
      if (badName) return `Tasks: "${badName}" is not a task name or glob.`;
      const cycles = list(points.value);
      const badPoint = cycles.find((p) => !CYCLE_POINT.test(p));
      if (badPoint) return `Cycle points: "${badPoint}" is not a cycle point (1, 2, … or *).`;
      const parsed = parseEnv(env.value, mode);
      if (parsed.error) return parsed.error;
      const settings = {};
      if (Object.keys(parsed.env).length) settings.env = parsed.env;
      if (scriptOn.checked) {
        if (mode === 'set' && !script.value.trim()) return 'Script: write the replacement script, or untick "Replace the script".';
        settings.script = mode === 'set' ? script.value : '';
      }
      if (mode === 'set' && !settings.env && settings.script === undefined) return 'Give at least one NAME=value or a replacement script.';
      const outcome = await runMutation(workflow, 'broadcast', {
        mode,
        settings,
        ...(cycles.length ? { cyclePoints: cycles } : {}),
        ...(names.length ? { namespaces: names } : {}),
      });
      if (!outcome.ok) return outcome.message;
      toast(outcome.message);
      return null;
    },
  });
}
