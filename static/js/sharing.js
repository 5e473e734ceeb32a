// The owner's sharing page: user_authorization, and a section per workflow (workflow_authorization),
// each edited as rows of who → permissions (see sharing-editor.js).
import { api, graphql } from './gql.js';
import { sharingEditor } from './sharing-editor.js';
import { el, toast } from './ui.js';

const serverWide = sharingEditor();
const picker = document.getElementById('wf-pick');
const editorArea = document.getElementById('wf-editor');
let sections = {};

const perWorkflow = sharingEditor({
  prefix: 'wf-',
  workflow: null,
  onSaved: () => loadSections(),
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

async function load() {
  const response = await api('api/authorization');
  if (!response.ok) {
    document.getElementById('notices').replaceChildren(el('div', { class: 'notice error' },
      `Your configuration file cannot be used as it is, so nobody else has access now:\n${response.json?.error ?? response.status}\nSaving here replaces it.`));
  }
  serverWide.show(response.ok ? response.json : {});
  await loadSections();
}
load();
