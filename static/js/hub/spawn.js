// Start-up progress: polls the owner's server status and moves on to the page asked for.
(function () {
  'use strict';
  var box = document.getElementById('spawn');
  var owner = box.dataset.owner;
  var next = box.dataset.next;
  var bar = document.getElementById('spawn-bar');
  var text = document.getElementById('spawn-status');
  var started = Date.now();
  var seenStarting = false;

  function fail(message) {
    document.querySelector('.spinner').classList.add('stopped');
    bar.className = 'fill-failed';
    bar.style.width = '100%';
    text.textContent = message;
  }

  function poll() {
    hub.api('GET', '/hub/api/users/' + encodeURIComponent(owner)).then(function (user) {
      var elapsed = (Date.now() - started) / 1000;
      if (user.status === 'running') {
        bar.style.width = '100%';
        text.textContent = 'Ready. Opening…';
        location.replace(next);
        return;
      }
      if (user.status === 'starting') {
        seenStarting = true;
        // Start-up time is unknown: approach 90% and wait there.
        bar.style.width = Math.min(90, 10 + 80 * (1 - Math.exp(-elapsed / 8))).toFixed(0) + '%';
        text.textContent = 'Starting the workflow server… (' + Math.round(elapsed) + ' s)';
      } else if (user.spawn_error) {
        return fail('The server could not start: ' + user.spawn_error);
      } else if (seenStarting || elapsed > 10) {
        return fail('The server is ' + user.status + '. Reload this page to try again.');
      }
      setTimeout(poll, 700);
    }).catch(function (err) {
      fail('Cannot read the server status: ' + err.message);
    });
  }
  poll();
})();
