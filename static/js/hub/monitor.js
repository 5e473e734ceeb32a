// The monitor: the workflows of every server the user can reach, in one live table. One live
// connection per owner (live.js, as the workflow servers' pages use) through the hub's proxy: the
// browser sends the session cookie and the Origin itself.
import { checkConnection } from '../connection.js';
import * as hub from './hub.js';
import { openLive } from '../live.js';
import { attention, attentionNote, attentionRow, countsFromGraphql, el, failedCount, followConnection, lastRunNote, progressBar, relativeTime, statusBadge, toast } from '../ui.js';

const SUMMARY = `id name status lastRun { outcome at failed summary } lastActivity error { message }
  stateCounts { waiting preparing submitted running succeeded failed submitFailed expired }`;
const QUERY = `subscription { deltas { workflow added { workflow { ${SUMMARY} } } updated { workflow } pruned { workflow } } }`;
const REFRESH_MS = 10_000;
const REFRESH_STARTING_MS = 1_500;

const STATE_WORDS = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  'no-access': 'no access',
  stopped: 'stopped',
  starting: 'starting…',
  stopping: 'stopping…',
};

const initial = JSON.parse(document.getElementById('monitor-data').textContent);
/** name → { name, status, mayStart, state, detail, workflows: Map, live, unsubscribe, removed } */
const owners = new Map();
/** The hub no longer knows the user: the page stops, and says how to sign in again. */
let signedOut = false;
const ownerGrid = document.getElementById('owners');
const noOwners = document.getElementById('no-owners');
const workflowsCard = document.getElementById('workflows-card');
const table = document.getElementById('monitor');
const tbody = table.querySelector('tbody');
const empty = document.getElementById('empty');
const summary = document.getElementById('summary');
const live = document.getElementById('live');
const filter = document.getElementById('filter');
const onlyActive = document.getElementById('only-active');

const ownerRoot = (name) => `/user/${encodeURIComponent(name)}/`;

// ---- connections ----

function setState(o, state, detail = '') {
  o.state = state;
  o.detail = detail;
  redraw();
}

function connect(o) {
  if (o.unsubscribe || signedOut) return;
  o.live ??= openLive(ownerRoot(o.name), {
    onStatus: (status, why) => {
      if (o.removed) return;
      if (status === 'signed-out') signOut();
      else if (status === 'revoked') noAccess(o, why ?? 'access withdrawn');
      else {
        // A new connection starts the subscription with a full "added" burst: what we held may be stale.
        if (status === 'live') o.workflows.clear();
        setState(o, status);
      }
    },
    whyFailed: () => diagnose(o),
  });
  o.unsubscribe = o.live.subscribe(QUERY, {}, {
    onNext: (data) => data.deltas && applyDelta(o, data.deltas),
    onError: (message) => toast(`${o.name}: ${message}`, 'error'),
  });
}

function disconnect(o) {
  o.unsubscribe?.();
  o.unsubscribe = undefined;
}

function noAccess(o, detail) {
  disconnect(o);
  o.workflows.clear();
  setState(o, 'no-access', detail);
}

/** Why a connection to a running server failed. The hub is asked first: only a server still
 * running is asked itself, since a visit would start a stopped one. */
async function diagnose(o) {
  // A refresh already under way may have begun before the socket closed: ask once more after it.
  await refreshing;
  await refreshOwners();
  if (signedOut || o.removed) return { state: 'retry' };
  if (o.status !== 'running') {
    // Stopped or starting after all: reconcile() connects again once it runs.
    disconnect(o);
    reconcile(o);
    return { state: 'retry' };
  }
  const { state, status, why } = await checkConnection(ownerRoot(o.name));
  if (state === 'no-access') return { state, why: why ?? (status === 404 ? 'no longer shared with you' : 'not shared with you') };
  return { state: state === 'signed-out' ? state : 'retry' };
}

function signOut() {
  if (signedOut) return;
  signedOut = true;
  clearTimeout(refreshTimer);
  for (const o of owners.values()) disconnect(o);
  followConnection(live, 'signed-out', '');
}

// ---- the owner list (servers starting, stopping, shared or no longer shared) ----

function track(entry) {
  const o = { ...entry, state: 'stopped', detail: '', workflows: new Map(), live: undefined, unsubscribe: undefined, removed: false };
  owners.set(o.name, o);
  return o;
}

/** Brings one owner's connection in line with their server's status. */
function reconcile(o) {
  if (o.status === 'running') {
    if (['stopped', 'starting', 'stopping'].includes(o.state)) connect(o);
    return;
  }
  // An open connection ends by itself when the server goes; diagnose() then lands here.
  if (o.unsubscribe) return;
  o.workflows.clear();
  setState(o, o.status === 'stopped' ? 'stopped' : o.status);
}

let refreshing = null;
let refreshTimer;

function refreshOwners() {
  if (signedOut) return Promise.resolve();
  refreshing ??= fetch('/hub/monitor/owners', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((res) => {
      if (res.status === 401) return null;
      return res.ok ? res.json() : Promise.reject(new Error(`the hub answered ${res.status}`));
    })
    .then((body) => {
      if (!body) {
        signOut();
        return;
      }
      const list = body.owners;
      const seen = new Set();
      for (const entry of list) {
        seen.add(entry.name);
        const o = owners.get(entry.name) ?? track(entry);
        o.status = entry.status;
        o.mayStart = entry.mayStart;
        reconcile(o);
      }
      for (const o of owners.values()) {
        if (seen.has(o.name)) continue;
        o.removed = true;
        disconnect(o);
        owners.delete(o.name);
      }
      redraw();
    })
    .catch((err) => setLiveWord(`hub unreachable: ${err.message}`, false))
    .finally(() => {
      refreshing = null;
      if (!signedOut) scheduleRefresh();
    });
  return refreshing;
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const starting = [...owners.values()].some((o) => o.state === 'starting' || o.state === 'stopping');
  refreshTimer = setTimeout(refreshOwners, starting ? REFRESH_STARTING_MS : REFRESH_MS);
}

function start(o) {
  setState(o, 'starting');
  hub.api('POST', `/hub/api/users/${encodeURIComponent(o.name)}/server`).then(
    () => scheduleRefresh(),
    (err) => {
      toast(err.message, 'error');
      refreshOwners();
    },
  );
}

function retry(o) {
  if (o.unsubscribe) o.live.retryNow();
  else connect(o);
}

// ---- workflows ----

function applyDelta(o, delta) {
  const id = delta.workflow;
  if (delta.pruned?.workflow) {
    o.workflows.delete(id);
  } else {
    const added = delta.added?.workflow;
    if (added) o.workflows.set(id, { ...o.workflows.get(id), ...added, counts: countsFromGraphql(added.stateCounts) });
    const patch = delta.updated?.workflow;
    const current = o.workflows.get(id);
    if (patch && current) {
      o.workflows.set(id, { ...current, ...patch, counts: patch.stateCounts ? countsFromGraphql(patch.stateCounts) : current.counts });
    }
  }
  redraw();
}

const failedOf = (w) => failedCount(w.counts);
const runningOf = (w) => w.counts.running ?? 0;
const isActive = (w) => failedOf(w) > 0 || runningOf(w) > 0 || w.status === 'running' || w.status === 'stalled';

function countCell(n, kind) {
  return el('td', { class: 'num' }, el('span', { class: n > 0 ? `count ${kind}` : 'count zero' }, String(n)));
}

function workflowRow(o, w) {
  const total = Object.values(w.counts).reduce((a, b) => a + b, 0);
  const href = `${ownerRoot(o.name)}workflows/${encodeURIComponent(w.id)}`;
  const state = attention(w, w.counts);
  return el('tr', { 'data-owner': o.name, 'data-workflow': w.id, class: attentionRow(state) },
    el('td', { class: 'owner-cell' }, o.name),
    el('td', { class: 'name-cell' }, el('a', { href }, w.name)),
    el('td', { class: 'status-cell' }, statusBadge(w.status, w.error), lastRunNote(w), attentionNote(state)),
    el('td', { class: 'progress-cell' }, total > 0 ? progressBar(w.counts) : el('span', { class: 'faint small' }, 'no tasks in the window')),
    countCell(runningOf(w), 'running'),
    countCell(failedOf(w), 'failed'),
    el('td', { class: 'muted small', title: w.lastActivity ?? '' }, relativeTime(w.lastActivity)),
    el('td', { class: 'num' }, el('a', { class: 'btn small', href }, 'Open')));
}

// ---- drawing ----

function ownerTile(o) {
  const count = o.workflows.size;
  let detail = o.detail;
  if (!detail && o.state === 'live') {
    const running = [...o.workflows.values()].filter((w) => w.status === 'running').length;
    detail = `${count} workflow${count === 1 ? '' : 's'} · ${running} running`;
  } else if (!detail && o.state === 'stopped') {
    detail = 'not running';
  }
  let action = null;
  if (o.state === 'stopped') {
    const why = o.mayStart ? '' : `You may not start ${o.name}'s server`;
    action = el('span', why ? { 'data-why': why } : {},
      el('button', { class: 'btn small primary start', disabled: Boolean(why), onclick: () => start(o) }, 'Start'));
  } else if (o.state === 'reconnecting' || o.state === 'no-access') {
    action = el('button', { class: 'btn small retry', onclick: () => retry(o) }, o.state === 'no-access' ? 'Check again' : 'Retry now');
  }
  const titles = {
    'no-access': `${o.name}'s server refused you: ${o.name} has not given you read permission. Ask them to share their workflows with you.`,
    reconnecting: `${o.name}'s server did not answer; the page tries again by itself, less often as time goes on (at most every 30 s).`,
    stopped: o.mayStart ? '' : `You may not start ${o.name}'s server (no servers scope).`,
  };
  return el('div', { class: 'owner-tile', 'data-owner': o.name, 'data-state': o.state, title: titles[o.state] || undefined },
    el('div', { class: 'row' },
      el('span', { class: 'avatar', 'aria-hidden': 'true' }, o.name.slice(0, 1)),
      el('a', { class: 'owner-name', href: ownerRoot(o.name) }, o.name === initial.user ? `${o.name} (you)` : o.name),
      el('span', { class: 'spacer' }),
      el('span', { class: `conn conn-${o.state}` }, STATE_WORDS[o.state] ?? o.state)),
    el('div', { class: 'row' },
      el('span', { class: 'detail small muted' }, detail),
      el('span', { class: 'spacer' }),
      action));
}

function setLiveWord(text, on) {
  live.textContent = text;
  live.className = `live ${on ? 'on' : 'off'}`;
}

function draw() {
  if (signedOut) return;
  const list = [...owners.values()].sort((a, b) => a.name.localeCompare(b.name));
  ownerGrid.replaceChildren(...list.map(ownerTile));
  // Nobody to watch: that one sentence, not an empty table and a filter with nothing to filter.
  noOwners.hidden = list.length > 0;
  workflowsCard.hidden = list.length === 0;

  const query = filter.value.trim().toLowerCase();
  const rows = [];
  let total = 0;
  let running = 0;
  let failing = 0;
  let stalled = 0;
  for (const o of list) {
    const workflows = [...o.workflows.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const w of workflows) {
      total += 1;
      if (w.status === 'running') running += 1;
      if (w.status === 'stalled') stalled += 1;
      if (failedOf(w) > 0) failing += 1;
      if (query && !o.name.toLowerCase().includes(query) && !w.name.toLowerCase().includes(query) && !w.id.toLowerCase().includes(query)) continue;
      if (onlyActive.checked && !isActive(w)) continue;
      rows.push(workflowRow(o, w));
    }
  }
  tbody.replaceChildren(...rows);
  const shown = rows.length === total ? `${total}` : `${rows.length} of ${total}`;
  summary.textContent = `${shown} workflow${total === 1 ? '' : 's'} · ${running} running${stalled ? ` · ${stalled} stalled` : ''} · ${failing} with failures`;

  table.hidden = rows.length === 0;
  empty.hidden = rows.length > 0;
  if (total > 0) empty.replaceChildren(el('h3', {}, 'Nothing matches'), el('p', {}, 'No workflow matches the filter.'));
  else if (list.some((o) => o.state === 'live')) empty.replaceChildren(el('h3', {}, 'No workflows'), el('p', {}, 'The servers you watch have no workflows yet.'));
  else empty.replaceChildren(el('h3', {}, 'No live servers'), el('p', {}, 'Workflows appear here as soon as a server you can read is running.'));

  const liveCount = list.filter((o) => o.state === 'live').length;
  if (list.length) setLiveWord(`${liveCount} of ${list.length} server${list.length === 1 ? '' : 's'} live`, liveCount > 0);
  else setLiveWord('nothing to watch', false);
}

let pending = false;
function redraw() {
  // Bursts of deltas (the first "added" burst above all) draw once per frame.
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    draw();
  });
}

// ---- filter, kept in the address so that a view can be shared ----

const params = new URLSearchParams(location.search);
filter.value = params.get('q') ?? '';
onlyActive.checked = params.get('only') === 'active';
function filterChanged() {
  const next = new URLSearchParams();
  if (filter.value.trim()) next.set('q', filter.value.trim());
  if (onlyActive.checked) next.set('only', 'active');
  history.replaceState(null, '', `${location.pathname}${next.size ? `?${next}` : ''}`);
  redraw();
}
filter.addEventListener('input', filterChanged);
onlyActive.addEventListener('change', filterChanged);

for (const entry of initial.owners) reconcile(track(entry));
redraw();
scheduleRefresh();
setInterval(redraw, 15_000);
