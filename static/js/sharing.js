// The owner's sharing page: user_authorization, and a section per workflow (workflow_authorization),
// each edited as rows of who → permissions (see sharing-editor.js).
import { api, graphql } from './gql.js';
import { sharingEditor } from './sharing-editor.js';
import { el, toast } from './ui.js';

// A save can replace an invalid file: the warnings are read again.
const siteBanner = document.getElementById('site-invalid');
const showState = (state) => { siteBanner.hidden = !state.siteInvalid; };
const serverWide = sharingEditor({ onSaved: () => load(), onState: showState });
const picker = document.getElementById('wf-pick');
const editorArea = document.getElementById('wf-editor');
let sections = {};

const perWorkflow = sharingEditor({
  prefix: 'wf-',
  workflow: null,
  onSaved: () => loadSections(),
  onState: showState,
});

/** Every workflow there is, and every one a section names, each once, sorted. */
async function listWorkflows() {
  const names = new Set(Object.keys(sections));
  try {
    for (const w of (await graphql('{ workflows { id } }')).workflows) names.add(w.id);
  } catch {
    // Without the list, the sections alone are shown.
  }
  return [...names].sort();
}

async function loadSections() {
  const response = await api('api/authorization/workflows');
  sections = response.ok ? response.json : {};
  const chosen = picker.value;
  picker.replaceChildren(el('option', { value: '' }, 'Choose a workflow…'), ...(await listWorkflows()).map((name) =>
    el('option', { value: name }, Object.hasOwn(sections, name) ? `${name} · shared on its own` : name)));
  picker.value = chosen;
}

function openSection(name) {
  editorArea.hidden = name === '';
  if (name !== '') perWorkflow.open(name, sections[name] ?? {});
  document.getElementById('wf-heading-name').textContent = name;
}

picker.addEventListener('change', () => openSection(picker.value));
document.getElementById('wf-add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('wf-new');
  const name = input.value.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) return toast('A workflow name is letters, digits, ".", "_", "-" and "@", without globs.', 'error');
  if (![...picker.options].some((o) => o.value === name)) picker.append(el('option', { value: name }, name));
  picker.value = name;
  input.value = '';
  openSection(name);
});

/** The invalid file's own text, for fixing it in place rather than retyping every rule. */
function fileFixer(text) {
  const area = el('textarea', { id: 'file-text', 'aria-label': 'Your configuration file', spellcheck: 'false' });
  area.value = text;
  const problem = el('div', { class: 'validation', 'aria-live': 'polite' });
  const save = el('button', { type: 'submit', class: 'btn small primary' }, 'Save the fixed file');
  const form = el('form', { class: 'card file-fix', id: 'file-fix' },
    el('h2', {}, 'Fix the file'),
    el('p', { class: 'small muted' }, 'This is your file as it is on disk. Correct it here and save; it is checked exactly as when it is read.'),
    area, problem, el('div', { class: 'row' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    const response = await api('api/authorization/file', { method: 'PUT', body: { text: area.value } });
    save.disabled = false;
    if (!response.ok) {
      problem.className = 'validation bad';
      problem.textContent = `✗ ${response.json?.error ?? `The server answered ${response.status}.`}`;
      return;
    }
    toast('Saved. The file is valid again and its permissions apply now.');
    load();
  });
  return form;
}

async function load() {
  const [response, state] = await Promise.all([api('api/authorization'), api('api/authorization/state')]);
  if (state.ok) showState(state.json);
  const notices = [];
  if (!response.ok) {
    notices.push(el('div', { class: 'notice error', id: 'file-invalid' },
      `Your configuration file cannot be used as it is, so nobody else has access now:\n${response.json?.error ?? response.status}\nFix it below, or save the rules here, which replaces it.`));
    if (typeof response.json?.text === 'string') notices.push(fileFixer(response.json.text));
  }
  document.getElementById('notices').replaceChildren(...notices);
  serverWide.show(response.ok ? response.json : {});
  await loadSections();
}
load();
