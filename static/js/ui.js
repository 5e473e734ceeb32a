// Small DOM and formatting helpers shared by the workflow server's pages.

export const STATES = ['waiting', 'preparing', 'submitted', 'running', 'succeeded', 'failed', 'submit-failed', 'expired'];

/** Creates an element: el('td', {class: 'num'}, 'text', childNode…). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
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

export function stateBadge(state) {
  return el('span', { class: `badge state-${state}` }, state);
}

export function statusBadge(status, error) {
  if (error) return el('span', { class: 'badge status-error', title: error.message }, 'invalid flow.yaml');
  return el('span', { class: `badge status-${status}` }, status);
}

export function progressBar(counts) {
  const total = STATES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const bar = el('div', { class: 'progress', role: 'img', 'aria-label': describeCounts(counts) || 'no tasks' });
  for (const state of STATES) {
    const n = counts[state] ?? 0;
    if (n > 0) bar.append(el('span', { class: `fill-${state}`, style: `width:${(100 * n) / total}%`, title: `${n} ${state}` }));
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

export function setLive(node, status) {
  const words = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', revoked: 'access revoked' };
  node.textContent = words[status] ?? status;
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

/** Access was withdrawn: say so, and stop showing what the user may no longer see. */
export function showRevoked(container, owner) {
  container.replaceChildren(el('div', { class: 'notice error revoked' },
    `Your access to ${owner}'s workflows was withdrawn. Reload the page if it has been given back.`));
  for (const node of document.querySelectorAll('main section, main .grid-2, #summary, #access, #wf-summary, #wf-description')) node.hidden = true;
}
