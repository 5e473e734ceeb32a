// Admin page: start/stop any server, add and remove accounts, manage groups, all through the REST API.
import * as hub from './hub.js';

function fail(err) { hub.toast(err.message, true); }
function reloadSoon() { setTimeout(function () { location.reload(); }, 300); }

function follow(name, row) {
  hub.api('GET', '/hub/api/users/' + encodeURIComponent(name)).then(function (user) {
    row.querySelector('.status-cell').replaceChildren(hub.badge(user.status));
    if (user.status === 'starting' || user.status === 'stopping') setTimeout(function () { follow(name, row); }, 700);
    else if (user.spawn_error) hub.toast(name + ': ' + user.spawn_error, true);
    else reloadSoon();
  }, fail);
}

document.querySelectorAll('#users tr[data-user]').forEach(function (row) {
  var name = row.dataset.user;
  var path = '/hub/api/users/' + encodeURIComponent(name) + '/server';
  row.querySelector('.start').addEventListener('click', function () {
    this.disabled = true;
    // The API answers once the server is up (or after 10 s): show the start meanwhile.
    row.querySelector('.status-cell').replaceChildren(hub.badge('starting'));
    hub.api('POST', path).then(function () { follow(name, row); }, function (err) { fail(err); follow(name, row); });
  });
  row.querySelector('.stop').addEventListener('click', function () {
    this.disabled = true;
    row.querySelector('.status-cell').replaceChildren(hub.badge('stopping'));
    hub.api('DELETE', path).then(function () { follow(name, row); }, fail);
  });
});

document.querySelectorAll('#users tr[data-user] .remove-account').forEach(function (button) {
  var name = button.closest('tr').dataset.user;
  button.addEventListener('click', function () {
    if (!confirm('Remove the account ' + name + '? It is deleted from the htpasswd file; its sessions and API tokens end and its server stops. Its workflows stay on disk.')) return;
    button.disabled = true;
    hub.api('DELETE', '/hub/api/accounts/' + encodeURIComponent(name)).then(function () {
      hub.toast('Account ' + name + ' removed.');
      reloadSoon();
    }, function (err) {
      button.disabled = false;
      fail(err);
    });
  });
});

var accountForm = document.getElementById('account-form');
if (accountForm) {
  accountForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var fields = accountForm.elements;
    var name = fields.name.value.trim();
    if (fields.password.value !== fields.again.value) {
      hub.toast('The two passwords differ; nothing changed.', true);
      return;
    }
    var submit = accountForm.querySelector('button[type=submit]');
    // Hashing takes the hub a moment (bcrypt, as `flotilla passwd add`): say so meanwhile.
    submit.disabled = true;
    submit.textContent = 'Adding…';
    hub.api('POST', '/hub/api/accounts', { name: name, password: fields.password.value }).then(function () {
      accountForm.reset();
      hub.toast('Account ' + name + ' added: they can sign in now.');
      reloadSoon();
    }, function (err) {
      fail(err);
    }).then(function () {
      submit.disabled = false;
      submit.textContent = 'Add account';
    });
  });
}

var stopAll = document.getElementById('stop-all');
if (stopAll) {
  stopAll.addEventListener('click', function () {
    var rows = Array.prototype.filter.call(document.querySelectorAll('#users tr[data-user]'), function (row) {
      return !row.querySelector('.stop').closest('[data-why]') && row.querySelector('.status-cell').textContent.trim() !== 'stopped';
    });
    if (!rows.length) return;
    var names = rows.map(function (row) { return row.dataset.user; });
    if (!confirm('Stop ' + names.length + ' running server' + (names.length === 1 ? '' : 's') + ' (' + names.join(', ') + ')? Workflows running on them stop too.')) return;
    stopAll.disabled = true;
    Promise.all(rows.map(function (row) {
      row.querySelector('.status-cell').replaceChildren(hub.badge('stopping'));
      return hub.api('DELETE', '/hub/api/users/' + encodeURIComponent(row.dataset.user) + '/server').then(function () { return null; }, function (err) {
        return row.dataset.user + ': ' + err.message;
      });
    })).then(function (failures) {
      failures = failures.filter(Boolean);
      if (failures.length) hub.toast('Could not stop ' + failures.join('; '), true);
      else hub.toast('Stopped ' + names.length + ' server' + (names.length === 1 ? '' : 's') + '.');
      reloadSoon();
    });
  });
}

// Group changes: the server renders the groups card again (and the users' group chips), so the
// page after a change reads exactly as a fresh load would, the empty state included.
function refreshGroups() {
  return fetch(location.pathname, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
    .then(function (res) {
      if (!res.ok) throw new Error('could not reload the groups: ' + res.status + ' ' + res.statusText);
      return res.text();
    })
    .then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html');
      var groups = fresh.getElementById('groups');
      // Signed out meanwhile (the login page came back): a full load shows it as it is.
      if (!groups) return location.reload();
      document.getElementById('groups').replaceWith(groups);
      bindGroups(groups);
      fresh.querySelectorAll('#users tr[data-user]').forEach(function (row) {
        var mine = document.querySelector('#users tr[data-user="' + CSS.escape(row.dataset.user) + '"] .groups-cell');
        if (mine) mine.replaceWith(row.querySelector('.groups-cell'));
      });
    });
}

/** Runs one group change through the REST API, then shows the result. */
function change(method, path, body, done) {
  return hub.api(method, path, body).then(function () {
    hub.toast(done);
    return refreshGroups();
  }).catch(fail);
}

function bindGroups(section) {
  var form = section.querySelector('#group-form');
  if (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = form.elements.name.value.trim();
      var users = form.elements.users.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
      change('POST', '/hub/api/groups', { name: name, users: users }, 'Group ' + name + ' created.');
    });
  }
  section.querySelectorAll('tr[data-group]').forEach(function (row) {
    var group = row.dataset.group;
    var path = '/hub/api/groups/' + encodeURIComponent(group);
    row.querySelectorAll('.chip-x').forEach(function (x) {
      x.addEventListener('click', function () {
        var member = x.closest('[data-member]').dataset.member;
        change('DELETE', path + '/users', { users: [member] }, member + ' removed from ' + group + '.');
      });
    });
    row.querySelector('.add-member').addEventListener('submit', function (e) {
      e.preventDefault();
      var user = this.elements.user.value.trim();
      change('POST', path + '/users', { users: [user] }, user + ' added to ' + group + '.');
    });
    row.querySelector('.delete-group').addEventListener('click', function () {
      if (!confirm('Delete group ' + group + '?')) return;
      change('DELETE', path, undefined, 'Group ' + group + ' deleted.');
    });
  });
}

var groups = document.getElementById('groups');
if (groups) bindGroups(groups);

document.querySelectorAll('#lockouts .clear-lockout').forEach(function (button) {
  button.addEventListener('click', function () {
    button.disabled = true;
    hub.api('DELETE', button.dataset.path).then(function () {
      hub.toast('Lockout cleared.');
      reloadSoon();
    }, function (err) {
      button.disabled = false;
      fail(err);
    });
  });
});
