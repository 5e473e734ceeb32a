// Small DOM and formatting helpers shared by the workflow server's pages (and the hub's monitor).
import { signInHref } from './connection.js';

export const STATES = ['waiting', 'preparing', 'submitted', 'running', 'succeeded', 'failed', 'submit-failed', 'expired'];

/**
 * Creates an element: el('td', {class: 'num'}, 'text', childNode…). `style` takes an object of CSS
 * properties ({width: '40%'}), set through the CSSOM: the pages' Content-Security-Policy refuses
 * style attributes, so fixed looks belong in a class of the stylesheet and only computed values here.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'style') setStyle(node, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStyle(node, properties) {
  if (typeof properties !== 'object') throw new TypeError(`el(): style takes an object of CSS properties, not ${JSON.stringify(properties)}`);
  for (const [property, value] of Object.entries(properties)) node.style.setProperty(property, String(value));
}

export function stateBadge(state) {
  return el('span', { class: `badge state-${state}` }, state);
}

/** Where an invalid flow.yaml goes wrong: `workflows/x/flow.yaml, line 5, column 1`. */
export function flowErrorPlace(error) {
  return [error.file, error.line != null && `line ${error.line}`, error.column != null && `column ${error.column}`].filter(Boolean).join(', ');
}

/**
 * An invalid flow.yaml's whole message, its place first: the parser's message may run over
 * several lines (a code excerpt), which a preformatted block keeps.
 */
export function flowErrorBlock(error) {
  return el('pre', { class: 'flow-error' }, `${flowErrorPlace(error)}:\n${error.message}`);
}

export function statusBadge(status, error) {
  if (error) return el('span', { class: 'badge status-error', title: error.message }, 'invalid flow.yaml');
  return el('span', { class: `badge status-${status}` }, status);
}

/** How a stopped workflow's last run ended ("completed: 5 succeeded, 2 failed"); null if it never ran. */
export function lastRunNote(workflow) {
  if (workflow.status !== 'stopped' || !workflow.lastRun) return null;
  const failed = workflow.lastRun.failed > 0;
  return el('div', { class: `small last-run${failed ? ' last-run-failed' : ' muted'}`, title: workflow.lastRun.at }, workflow.lastRun.summary);
}

export function progressBar(counts) {
  const total = STATES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const bar = el('div', { class: 'progress', role: 'img', 'aria-label': describeCounts(counts) || 'no tasks' });
  for (const state of STATES) {
    const n = counts[state] ?? 0;
    if (n > 0) bar.append(el('span', { class: `fill-${state}`, style: { width: `${(100 * n) / total}%` }, title: `${n} ${state}` }));
  }
  const legend = el('div', { class: 'progress-legend' });
  for (const state of STATES) {
    const n = counts[state] ?? 0;
    if (n > 0) legend.append(el('span', {}, el('span', { class: `dot fill-${state}` }), `${n} ${state}`));
  }
  return el('div', {}, bar, legend);
}

export function describeCounts(counts) {
  return STATES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(', ');
}

/** GraphQL counts use submitFailed; the engine's word is submit-failed. */
export function countsFromGraphql(c) {
  if (!c) return {};
  const { submitFailed, ...rest } = c;
  return { ...rest, 'submit-failed': submitFailed ?? c['submit-failed'] ?? 0 };
}

export function relativeTime(iso) {
  if (!iso) return '—';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function clockTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function duration(fromIso, toIso) {
  if (!fromIso) return '—';
  const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const LIVE_WORDS = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  revoked: 'access revoked',
  'signed-out': 'signed out',
  'server-stopped': 'server not running',
  'server-starting': 'server starting…',
};

export function setLive(node, status) {
  node.textContent = LIVE_WORDS[status] ?? status;
  node.className = `live ${status === 'live' ? 'on' : status === 'connecting' ? '' : 'off'}`;
}

let toastTimer;
export function toast(message, kind = 'info') {
  document.querySelector('.toast')?.remove();
  const node = el('div', { class: `toast ${kind}`, role: 'status' }, message);
  document.body.append(node);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.remove(), kind === 'error' ? 8000 : 4000);
}

/** Asks before a destructive action; resolves true when confirmed. */
export function confirmAction(title, text, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = el('dialog', {},
      el('h2', {}, title),
      el('p', { class: 'muted' }, text),
      el('div', { class: 'actions' },
        el('button', { class: 'btn', value: 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel'),
        el('button', { class: 'btn danger', value: 'ok', onclick: () => dialog.close('ok') }, confirmLabel)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// ---- a page cut off from its server ----------------------------------------------------------

/** What the page shows while cut off: the notice, and why every control is disabled. */
function cutOffText(kind, owner) {
  switch (kind) {
    case 'signed-out':
      return {
        title: 'You were signed out',
        text: 'Your session has ended: you signed out, perhaps in another tab, or it expired. Sign in again to carry on.',
        link: { href: signInHref(), label: 'Sign in again' },
        why: 'You were signed out: sign in again to use this.',
      };
    case 'revoked':
      return {
        title: null,
        text: `Your access to ${owner}'s workflows was withdrawn. Reload the page if it has been given back.`,
        why: `Your access to ${owner}'s workflows was withdrawn.`,
      };
    case 'server-starting':
      return {
        title: `${owner}'s server is starting`,
        text: 'This page reconnects by itself once it is up.',
        why: `${owner}'s server is starting.`,
      };
    default:
      return {
        title: `${owner}'s server is not running`,
        text: 'This page reconnects by itself once it runs again. Its owner, or anyone allowed to, can start it from the hub.',
        link: { href: '/hub/home', label: 'Go to the hub home page' },
        why: `${owner}'s server is not running.`,
      };
  }
}

const CUT_OFF_STATUSES = new Set(['revoked', 'signed-out', 'server-stopped', 'server-starting']);
/** Page parts that are data, not controls: hidden while cut off rather than left stale. */
const DATA = 'main > :not(.page-head, nav, #notices, #cut-off, .workflow-bar), #summary, #access, #wf-status, #wf-summary, #wf-description';
let cutOff = null;

/** Why every control is disabled, while the page is cut off from its server; null otherwise. */
export function cutOffReason() {
  return cutOff?.why ?? null;
}

/**
 * Follows the page's connection status (from gql.js `onStatus`, or the monitor's own): shows it
 * in the `live` node, and while the page cannot reach its data (signed out, access withdrawn,
 * server down) says so in one notice with the way out, hides the data and disables every control
 * with that reason. A server that comes back ends the cut-off by reloading the page, which brings
 * fresh data and permissions. Returns true while the page is cut off.
 */
export function followConnection(liveNode, status, owner) {
  setLive(liveNode, status);
  if (status === 'live' && cutOff) {
    location.reload();
    return true;
  }
  if (!CUT_OFF_STATUSES.has(status)) return cutOff !== null;
  // A final state is never replaced by a passing one (a server reported down after a sign-out).
  if (cutOff && (cutOff.kind === 'signed-out' || cutOff.kind === 'revoked') && status.startsWith('server-')) return true;
  cutOff = { kind: status, ...cutOffText(status, owner) };
  showCutOff(cutOff);
  return true;
}

function showCutOff({ kind, title, text, link, why }) {
  const notice = el('div', { class: `notice ${kind === 'server-starting' ? 'warn' : 'error'} cut-off ${kind === 'revoked' ? 'revoked' : kind}`, id: 'cut-off', role: 'alert' },
    title ? el('strong', {}, title) : null,
    title ? el('br') : null,
    text,
    link ? el('div', { class: 'cut-off-action' }, el('a', { class: 'btn small primary', href: link.href }, link.label)) : null);
  const existing = document.getElementById('cut-off');
  if (existing) existing.replaceWith(notice);
  else if (document.getElementById('notices')) document.getElementById('notices').replaceChildren(notice);
  else document.querySelector('main .page-head')?.after(notice);
  for (const node of document.querySelectorAll(DATA)) node.hidden = true;
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close('cancel');
  for (const control of document.querySelectorAll('main :is(button, input, select, textarea)')) {
    control.disabled = true;
    // Controls wrapped by controls.js show their reason from the wrapper (a disabled button gets no hover).
    const holder = control.closest('.ctl, [data-why]');
    if (holder) holder.setAttribute('data-why', why);
    else control.title = why;
  }
  if (kind === 'signed-out') {
    // Signing out again means nothing now: the notice's sign-in link is the one way on.
    for (const form of document.querySelectorAll('form.signout')) form.hidden = true;
    const whoami = document.querySelector('.whoami');
    whoami?.replaceChildren(...[...whoami.children].filter((n) => n.classList.contains('owner-chip')), el('span', { class: 'signed-out' }, 'signed out'));
  }
}

/** A byte count for people, in binary units as the engine's caps are: "512 B", "1.0 MiB", "2.1 MiB". */
export function humanBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Failed tasks in a countsFromGraphql result (a failed submission is a failure too). */
export function failedCount(counts) {
  return (counts.failed ?? 0) + (counts['submit-failed'] ?? 0);
}

/**
 * Whether a workflow in a list needs someone, so that its row stands out by colour and by text:
 * `stalled` (a failure blocks the rest), `failed` (failed tasks, or a last run that ended with
 * failures: lastRunNote already says that one in words). Null when all is well.
 */
export function attention(workflow, counts) {
  const failed = failedCount(counts);
  const tasks = `${failed} failed task${failed === 1 ? '' : 's'}`;
  if (workflow.status === 'stalled') return { kind: 'stalled', text: `⚠ Stalled: ${failed ? tasks : 'a failure'} holding up the rest` };
  if (failed > 0) return { kind: 'failed', text: `✗ ${tasks}` };
  if (workflow.status === 'stopped' && workflow.lastRun?.failed > 0) return { kind: 'failed', text: null };
  return null;
}

/** The row class and the note for attention(): use both, colour alone is not enough. */
export function attentionRow(state) {
  return state ? `needs-attention attention-${state.kind}` : '';
}

export function attentionNote(state) {
  return state?.text ? el('div', { class: `attention-note attention-${state.kind}` }, state.text) : null;
}
