// One sharing editor: user_authorization, or one workflow's section of workflow_authorization, as
// rows of who → permissions, validated by the server as you type, with a preview of what everyone
// gets after the site's limits and an explanation of any decision. Used by the sharing page (both
// kinds) and by the Share panel of a workflow page.
import { api } from './gql.js';
import { el, toast } from './ui.js';

const CONTROL = new Set(['clean', 'ext_trigger', 'hold', 'kill', 'message', 'pause', 'play', 'poll', 'release', 'release_hold_point', 'reload', 'remove', 'resume', 'set_graph_window_extent', 'set_hold_point', 'set_outputs', 'set_verbosity', 'stop', 'trigger']);

/** Chips for a permitted set; CONTROL shown as one chip, with what it lacks, when mostly there. */
function chipsFor(ops) {
  if (ops.length === 0) return el('span', { class: 'faint small' }, 'nothing');
  const set = new Set(ops);
  const missing = [...CONTROL].filter((op) => !set.has(op));
  const chips = [];
  if (set.has('read')) chips.push(el('span', { class: 'chip group' }, 'read'));
  if (missing.length <= CONTROL.size / 4) {
    chips.push(el('span', { class: 'chip group', title: [...CONTROL].join(', ') }, 'CONTROL'));
    for (const op of missing) chips.push(el('span', { class: 'chip neg', title: 'not included' }, `except ${op}`));
  } else {
    for (const op of CONTROL) if (set.has(op)) chips.push(el('span', { class: 'chip' }, op));
  }
  if (set.has('broadcast')) chips.push(el('span', { class: 'chip' }, 'broadcast'));
  return el('div', { class: 'perm-chips' }, chips);
}

function describeKey(key, groups) {
  if (key === '*') return el('span', {}, el('strong', {}, 'anyone else'), el('div', { class: 'small faint' }, 'signed-in users not named here'));
  if (key.startsWith('group:')) return el('span', {}, el('strong', {}, key), el('div', { class: 'small faint' }, 'a member of this group only'));
  return el('span', {}, el('strong', {}, key), groups.length ? el('div', { class: 'small faint' }, `in ${groups.join(', ')}`) : null);
}

/**
 * Binds the editor whose element ids start with `prefix`. `workflow` (optional) makes it edit that
 * workflow's section; `open(workflow)` switches it to another one. `onSaved` runs after a save;
 * `onState` gets where sharing stands (an invalid site or owner file) with every preview.
 */
export function sharingEditor({ prefix = '', workflow = null, onSaved = () => {}, onState = () => {} } = {}) {
  const $ = (id) => document.getElementById(`${prefix}${id}`);
  const tbody = $('rules').querySelector('tbody');
  const validation = $('validation');
  const saveButton = $('save');
  const removeButton = $('remove');
  const note = $('note');
  let current = workflow;
  let saved = '{}';
  let lastValid = false;
  let timer;
  let previews = 0;

  const endpoint = () => (current === null ? 'api/authorization' : `api/authorization/workflows/${encodeURIComponent(current)}`);
  const withWorkflow = (params) => new URLSearchParams({ ...params, ...(current === null ? {} : { workflow: current }) });

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(validate, 250);
  }

  function addRow(key = '', perms = []) {
    const keyInput = el('input', { type: 'text', value: key, placeholder: 'user, group:NAME or *', 'aria-label': 'Who', oninput: changed });
    const permInput = el('input', { type: 'text', value: perms.join(', '), placeholder: 'READ, pause, !play', 'aria-label': 'Permissions', oninput: changed });
    const row = el('tr', {},
      el('td', { class: 'key' }, keyInput),
      el('td', {}, permInput),
      el('td', { class: 'actions' }, el('button', { type: 'button', class: 'btn small', 'aria-label': 'Remove this row', onclick: () => { row.remove(); changed(); } }, 'Remove')));
    tbody.append(row);
    return keyInput;
  }

  /** The table as an object of key → permissions; duplicate keys are reported, not merged. */
  function draft() {
    const result = {};
    const problems = [];
    for (const row of tbody.rows) {
      const [keyInput, permInput] = row.querySelectorAll('input');
      const key = keyInput.value.trim();
      const perms = permInput.value.split(',').map((p) => p.trim()).filter(Boolean);
      keyInput.classList.toggle('invalid', key === '' && perms.length > 0);
      if (key === '' && perms.length === 0) continue;
      if (key === '') problems.push('a row has permissions but no "who"');
      else if (Object.hasOwn(result, key)) problems.push(`"${key}" appears twice: keep one row per key`);
      else result[key] = perms;
    }
    return { value: result, problems };
  }

  async function validate() {
    const asked = ++previews;
    const { value, problems } = draft();
    if (problems.length) return showValidation(false, problems.join('\n'));
    const query = current === null ? '' : `?${withWorkflow({})}`;
    const response = await api(`api/authorization/preview${query}`, { method: 'POST', body: value });
    // An older answer arriving late must not overwrite a newer one (e.g. the state after a save).
    if (asked !== previews) return;
    if (!response.ok || !response.json) return showValidation(false, response.json?.error ?? `The server answered ${response.status}.`);
    if (!response.json.valid) return showValidation(false, response.json.error);
    showWarnings(response.json.warnings ?? []);
    const { siteInvalid, ownerFileInvalid } = response.json.state;
    onState(response.json.state);
    // Over an invalid file nothing here is saved: what shows is a draft that would replace it.
    const isSaved = JSON.stringify(value) === saved && !ownerFileInvalid;
    showValidation(true, `${isSaved ? 'Valid · saved' : 'Valid · not saved yet'}${siteInvalid ? ', but it gives nobody anything while the site configuration is invalid' : ''}`, !siteInvalid && !ownerFileInvalid);
    const caption = $('preview-caption');
    caption.className = `small ${siteInvalid || ownerFileInvalid ? 'warn-text' : 'muted'}`;
    caption.textContent = siteInvalid
      ? 'Right now nobody but you has access: the site configuration is invalid'
      : ownerFileInvalid
        ? 'Right now nobody but you has access (your file is invalid); once saved, after the site\'s limits'
        : "after the site's limits";
    if (note) {
      note.hidden = current === null || response.json.workflowExists !== false;
      note.textContent = `No workflow named ${current} exists yet: this section is kept and applies as soon as one does.`;
    }
    $('preview').querySelector('tbody').replaceChildren(...response.json.entries.map((e) =>
      el('tr', {}, el('td', {}, describeKey(e.key, e.groups)), el('td', {}, chipsFor(e.permitted)))));
  }

  /** Keys that name nobody (now, or ever): saved all the same, but the owner should know. */
  function showWarnings(warnings) {
    const list = $('warnings');
    list.hidden = warnings.length === 0;
    list.replaceChildren(...warnings.map((w) => el('li', {}, `⚠ ${w}`)));
  }

  /** `healthy` false: valid, but not in effect as written (an invalid file or site), so not green. */
  function showValidation(valid, message, healthy = true) {
    lastValid = valid;
    if (!valid) showWarnings([]);
    validation.className = `validation ${valid ? (healthy ? 'ok' : 'warn') : 'bad'}`;
    validation.textContent = `${valid ? '✓' : '✗'} ${message}`;
    saveButton.disabled = !valid || JSON.stringify(draft().value) === saved;
  }

  saveButton.addEventListener('click', async () => {
    const { value, problems } = draft();
    if (problems.length || !lastValid) return;
    saveButton.disabled = true;
    const response = await api(endpoint(), { method: 'PUT', body: value });
    if (response.ok) {
      saved = JSON.stringify(value);
      if (removeButton) removeButton.hidden = false;
      toast('Saved. The new permissions apply now.');
      onSaved(current);
      validate();
    } else {
      showValidation(false, response.json?.error ?? `The server answered ${response.status}.`);
    }
  });

  removeButton?.addEventListener('click', async () => {
    const response = await api(endpoint(), { method: 'DELETE' });
    if (!response.ok) return toast(response.json?.error ?? `The server answered ${response.status}.`, 'error');
    toast(`${current} now follows the server-wide sharing.`);
    onSaved(current);
    show({});
    removeButton.hidden = true;
  });

  $('add-row').addEventListener('click', () => addRow().focus());

  $('explain-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const user = $('explain-user').value.trim();
    const groups = $('explain-groups').value.trim();
    const path = `api/authorization/explain?${withWorkflow({ user, ...(groups ? { groups } : {}) })}`;
    // The draft on screen when it differs from what is saved and can be read; else the saved rules.
    const { value, problems } = draft();
    const differs = JSON.stringify(value) !== saved;
    const onScreen = problems.length === 0 && lastValid && differs;
    const response = await api(path, onScreen ? { method: 'POST', body: { draft: value } } : {});
    const of = onScreen
      ? el('span', { class: 'badge status-paused' }, 'draft — not saved')
      : el('span', { class: 'badge plain' }, differs ? 'saved rules (the draft on screen is not valid)' : 'saved rules');
    const out = $('explain');
    out.hidden = false;
    if (!response.ok) {
      out.replaceChildren(el('div', { class: 'explain-of' }, of), el('p', { class: 'validation bad' }, response.json?.error ?? `The server answered ${response.status}.`));
      return;
    }
    const { explanation, text, note } = response.json;
    // Verdict first; the steps that lead to it after.
    out.replaceChildren(...[
      el('div', { class: 'explain-of small' }, 'Explaining the ', of),
      el('p', { class: 'verdict' }, explanation.summary),
      note ? el('p', { class: 'small warn-text' }, note) : null,
      el('details', {}, el('summary', { class: 'small' }, 'How this was decided'), el('pre', { class: 'explain' }, text)),
    ].filter(Boolean));
  });

  function show(values) {
    saved = JSON.stringify(values);
    tbody.replaceChildren();
    const entries = Object.entries(values);
    if (entries.length === 0) addRow();
    for (const [key, perms] of entries) addRow(key, perms);
    validate();
  }

  return {
    /** Shows what is saved (`values`), e.g. after loading it. */
    show(values) {
      if (removeButton) removeButton.hidden = current === null || Object.keys(values).length === 0;
      show(values);
    },
    /** Switches to another workflow's section, showing `values`. */
    open(name, values) {
      current = name;
      this.show(values);
    },
  };
}
