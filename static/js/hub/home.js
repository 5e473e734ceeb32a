// Home page: start/stop your server, permissions on shared servers, API tokens.
import * as hub from './hub.js';

var el = hub.el;
var me = document.getElementById('my-server').dataset.user;
var serverPath = '/hub/api/users/' + encodeURIComponent(me) + '/server';

function showStatus(user) {
  var badge = document.getElementById('my-status');
  badge.replaceWith(Object.assign(hub.badge(user.status), { id: 'my-status' }));
  var start = document.getElementById('my-start');
  var stop = document.getElementById('my-stop');
  if (!start.closest('[data-why]')) start.disabled = user.status !== 'stopped';
  if (!stop.closest('[data-why]')) stop.disabled = user.status !== 'running';
  var detail = document.getElementById('my-detail');
  if (user.status === 'running') detail.textContent = 'Running; last activity ' + hub.when(user.last_activity) + '.';
  else if (user.status === 'starting') detail.textContent = 'Starting…';
  else if (user.status === 'stopping') detail.textContent = 'Stopping…';
  else detail.textContent = user.spawn_error ? 'The last start failed: ' + user.spawn_error : 'Not running. Opening it starts it.';
}

function follow() {
  hub.api('GET', '/hub/api/users/' + encodeURIComponent(me)).then(function (user) {
    showStatus(user);
    if (user.status === 'starting' || user.status === 'stopping') setTimeout(follow, 700);
  }).catch(function (err) { hub.toast(err.message, true); });
}

document.getElementById('my-start').addEventListener('click', function () {
  hub.api('POST', serverPath).then(follow, function (err) { hub.toast(err.message, true); });
  showStatus({ status: 'starting' });
});
document.getElementById('my-stop').addEventListener('click', function () {
  showStatus({ status: 'stopping' });
  hub.api('DELETE', serverPath).then(follow, function (err) { hub.toast(err.message, true); follow(); });
});
document.getElementById('my-open').addEventListener('click', function (e) {
  if (this.getAttribute('aria-disabled') === 'true') e.preventDefault();
});

// CONTROL's operations as the workflow server names them (GraphQL spelling).
var CONTROL = ['clean', 'extTrigger', 'hold', 'kill', 'message', 'pause', 'play', 'poll', 'release', 'releaseHoldPoint', 'reload',
  'remove', 'resume', 'setGraphWindowExtent', 'setHoldPoint', 'setOutputs', 'setVerbosity', 'stop', 'trigger'];

/** A permission set in the words of the sharing rules ("READ + CONTROL"), every operation on hover. */
function permissionChips(perms) {
  var has = function (op) { return perms.indexOf(op) !== -1; };
  var missing = CONTROL.filter(function (op) { return !has(op); });
  var parts = [];
  if (has('read') && missing.length === 0 && has('broadcast')) parts.push('ALL');
  else {
    if (has('read')) parts.push('READ');
    if (missing.length === 0) parts.push('CONTROL');
    else if (missing.length <= 5) parts.push('CONTROL (except ' + missing.join(', ') + ')');
    else CONTROL.forEach(function (op) { if (has(op)) parts.push(op); });
    if (has('broadcast')) parts.push('broadcast');
  }
  var box = el('div', { class: 'perm-chips', title: perms.join(', ') });
  parts.forEach(function (p) { box.appendChild(el('span', { class: 'chip' + (p === p.toUpperCase() ? ' group' : ''), text: p })); });
  return box;
}

// Your permissions on each running shared server, from that server's own user profile.
document.querySelectorAll('#reachable tr[data-owner]').forEach(function (row) {
  row.querySelectorAll('a[aria-disabled="true"]').forEach(function (a) {
    a.addEventListener('click', function (e) { e.preventDefault(); });
  });
  if (row.dataset.status !== 'running') return;
  var cell = row.querySelector('.perms');
  fetch('/user/' + encodeURIComponent(row.dataset.owner) + '/api/userprofile', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    // 403: nothing shared with you there; the server says which layer refused and who can change it.
    .then(function (res) {
      if (res.status === 403) return res.json().catch(function () { return {}; }).then(function (body) { return { permissions: [], refused: body.error || 'Nothing here is shared with you.' }; });
      if (!res.ok) throw new Error(res.status);
      return res.json();
    })
    .then(function (profile) {
      cell.textContent = '';
      var perms = profile.permissions || [];
      if (profile.refused) {
        cell.appendChild(el('span', { class: 'small muted', text: profile.refused }));
        var open = row.querySelector('a.btn');
        open.setAttribute('aria-disabled', 'true');
        open.setAttribute('tabindex', '-1');
        open.parentElement.setAttribute('data-why', 'Nothing here is shared with you');
        open.addEventListener('click', function (e) { e.preventDefault(); });
        return;
      }
      if (perms.length === 0 && !(profile.workflowPermissions || []).length) cell.appendChild(el('span', { class: 'faint small', text: 'none' }));
      cell.appendChild(permissionChips(perms));
      // Workflows shared on their own: only those you may read, so these are yours to see.
      (profile.workflowPermissions || []).forEach(function (w) {
        cell.appendChild(el('div', { class: 'small muted', text: w.workflow + ': ' + (w.permissions.join(', ') || 'none') }));
      });
    })
    .catch(function () { cell.textContent = ''; cell.appendChild(el('span', { class: 'faint small', text: 'unavailable' })); });
});

// API tokens.
var tokensPath = '/hub/api/users/' + encodeURIComponent(me) + '/tokens';
var table = document.querySelector('#token-table tbody');
var empty = document.getElementById('no-tokens');

/** The table with its header only when there are tokens; the empty state alone otherwise. */
function showTokens() {
  var any = table.children.length > 0;
  table.closest('table').hidden = !any;
  empty.hidden = any;
}

function revoke(row) {
  hub.api('DELETE', tokensPath + '/' + encodeURIComponent(row.dataset.id)).then(function () {
    row.remove();
    showTokens();
    hub.toast('Token revoked.');
  }, function (err) { hub.toast(err.message, true); });
}
table.querySelectorAll('tr').forEach(function (row) {
  row.querySelector('.revoke').addEventListener('click', function () { revoke(row); });
});

var form = document.getElementById('token-form');
if (form) {
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var body = {};
    if (form.note.value.trim()) body.note = form.note.value.trim();
    if (form.expires_in.value) body.expires_in = Number(form.expires_in.value);
    // Read-only: the servers reachable now, and nothing but `read` inside them.
    if (form.access.value === 'monitor') {
      body.scopes = JSON.parse(form.dataset.monitorScopes);
      if (!body.note) body.note = 'read-only monitoring';
    }
    hub.api('POST', tokensPath, body).then(function (t) {
      document.getElementById('new-token-value').textContent = t.token;
      document.getElementById('new-token').hidden = false;
      var row = el('tr', { 'data-id': t.id }, [
        el('td', { text: t.note || '—' }), el('td', { class: 'task-id', text: t.id }),
        el('td', { text: hub.localTime(t.created) }),
        el('td', { text: 'never' }),
        el('td', { text: t.expires_at ? hub.localTime(t.expires_at) : 'never' }),
        el('td', { class: 'num' }, [el('button', { class: 'btn small danger revoke', text: 'Revoke', onclick: function () { revoke(row); } })]),
      ]);
      table.appendChild(row);
      showTokens();
      form.note.value = '';
    }, function (err) { hub.toast(err.message, true); });
  });
  document.getElementById('copy-token').addEventListener('click', function () {
    navigator.clipboard.writeText(document.getElementById('new-token-value').textContent).then(function () { hub.toast('Copied.'); });
  });
}

if (document.getElementById('my-server').dataset.status === 'starting') follow();
