// The owner's sharing page: edit user_authorization as rows of who → permissions, validated by
// the server as you type, with a preview of what everyone gets after the site's limits.
import { api } from './gql.js';
import { el, toast } from './ui.js';

const tbody = document.querySelector('#rules tbody');
const validation = document.getElementById('validation');
const saveButton = document.getElementById('save');
const CONTROL = new Set(['clean', 'ext_trigger', 'hold', 'kill', 'message', 'pause', 'play', 'poll', 'release', 'release_hold_point', 'reload', 'remove', 'resume', 'set_graph_window_extent', 'set_hold_point', 'set_outputs', 'set_verbosity', 'stop', 'trigger']);
let saved = '{}';
let lastValid = false;

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

/** The table as a user_authorization object; duplicate keys are reported, not merged. */
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

let timer;
function changed() {
  clearTimeout(timer);
  timer = setTimeout(validate, 250);
}

async function validate() {
  const { value, problems } = draft();
  if (problems.length) return showValidation(false, problems.join('\n'));
  const response = await api('api/authorization/preview', { method: 'POST', body: value });
  if (!response.ok || !response.json) return showValidation(false, response.json?.error ?? `The server answered ${response.status}.`);
  if (!response.json.valid) return showValidation(false, response.json.error);
  showValidation(true, JSON.stringify(value) === saved ? 'Valid · saved' : 'Valid · not saved yet');
  renderPreview(response.json.entries);
}

function showValidation(valid, message) {
  lastValid = valid;
  validation.className = `validation ${valid ? 'ok' : 'bad'}`;
  validation.textContent = `${valid ? '✓' : '✗'} ${message}`;
  saveButton.disabled = !valid || JSON.stringify(draft().value) === saved;
}

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

function renderPreview(entries) {
  document.querySelector('#preview tbody').replaceChildren(...entries.map((e) =>
    el('tr', {}, el('td', {}, describeKey(e.key, e.groups)), el('td', {}, chipsFor(e.permitted)))));
}

saveButton.addEventListener('click', async () => {
  const { value, problems } = draft();
  if (problems.length || !lastValid) return;
  saveButton.disabled = true;
  const response = await api('api/authorization', { method: 'PUT', body: value });
  if (response.ok) {
    saved = JSON.stringify(value);
    toast('Saved. The new permissions apply now.');
    validate();
  } else {
    showValidation(false, response.json?.error ?? `The server answered ${response.status}.`);
  }
});

document.getElementById('add-row').addEventListener('click', () => addRow().focus());

document.getElementById('explain-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const user = document.getElementById('explain-user').value.trim();
  const groups = document.getElementById('explain-groups').value.trim();
  const query = new URLSearchParams({ user, ...(groups ? { groups } : {}) });
  const response = await api(`api/authorization/explain?${query}`);
  const out = document.getElementById('explain');
  out.hidden = false;
  out.textContent = response.ok ? response.json.text : (response.json?.error ?? `The server answered ${response.status}.`);
});

async function load() {
  const response = await api('api/authorization');
  if (!response.ok) {
    document.getElementById('notices').replaceChildren(el('div', { class: 'notice error' },
      `Your configuration file cannot be used as it is, so nobody else has access now:\n${response.json?.error ?? response.status}\nSaving here replaces it.`));
  }
  const current = response.ok ? response.json : {};
  saved = JSON.stringify(current);
  const entries = Object.entries(current);
  if (entries.length === 0) addRow();
  for (const [key, perms] of entries) addRow(key, perms);
  validate();
}
load();
