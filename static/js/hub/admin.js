// Admin page: start/stop any server, manage groups, all through the REST API.
(function () {
  'use strict';
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
})();
