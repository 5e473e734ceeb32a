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
      hub.api('POST', path).then(function () { follow(name, row); }, fail);
    });
    row.querySelector('.stop').addEventListener('click', function () {
      this.disabled = true;
      row.querySelector('.status-cell').replaceChildren(hub.badge('stopping'));
      hub.api('DELETE', path).then(function () { follow(name, row); }, fail);
    });
  });

  var form = document.getElementById('group-form');
  if (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var users = form.users.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
      hub.api('POST', '/hub/api/groups', { name: form.name.value.trim(), users: users }).then(reloadSoon, fail);
    });
  }

  document.querySelectorAll('#groups tr[data-group]').forEach(function (row) {
    var path = '/hub/api/groups/' + encodeURIComponent(row.dataset.group);
    row.querySelectorAll('.chip-x').forEach(function (x) {
      x.addEventListener('click', function () {
        hub.api('DELETE', path + '/users', { users: [x.closest('[data-member]').dataset.member] }).then(reloadSoon, fail);
      });
    });
    row.querySelector('.add-member').addEventListener('submit', function (e) {
      e.preventDefault();
      hub.api('POST', path + '/users', { users: [this.user.value.trim()] }).then(reloadSoon, fail);
    });
    row.querySelector('.delete-group').addEventListener('click', function () {
      if (!confirm('Delete group ' + row.dataset.group + '?')) return;
      hub.api('DELETE', path).then(reloadSoon, fail);
    });
  });
})();
