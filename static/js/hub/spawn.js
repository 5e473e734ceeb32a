// Start-up progress: the hub pushes each step of the start over an event stream (JupyterHub's
// progress API); the page shows it and moves on to the page asked for the moment it is ready.
import * as hub from './hub.js';

var box = document.getElementById('spawn');
var owner = box.dataset.owner;
var next = box.dataset.next;
var bar = document.getElementById('spawn-bar');
var meter = document.getElementById('spawn-progress');
var text = document.getElementById('spawn-status');
var steps = Array.prototype.slice.call(document.querySelectorAll('#spawn-steps li'));
var finished = false;

function showStep(step, state) {
  var reached = false;
  steps.forEach(function (li) {
    var here = li.dataset.step === step;
    li.className = here ? state : reached ? '' : 'done';
    if (here) reached = true;
  });
}

function showProgress(percent) {
  bar.style.width = percent + '%';
  meter.setAttribute('aria-valuenow', String(percent));
}

// The reason's first line says why; a failed start's reason goes on with the server's last log lines.
function fail(message) {
  finished = true;
  document.querySelector('.spinner').classList.add('stopped');
  box.querySelector('h1').textContent = 'The server could not start';
  document.getElementById('spawn-note').hidden = true;
  document.getElementById('spawn-retry').hidden = false;
  bar.className = 'fill-failed';
  showProgress(100);
  var current = steps.filter(function (li) { return li.className === 'current'; })[0];
  if (current) current.className = 'failed';
  var lines = message.split('\n');
  text.textContent = lines[0];
  if (lines.length > 1) {
    text.after(hub.el('details', { class: 'small spawn-log' }, [hub.el('summary', { text: 'Last lines of the server log' }), hub.el('pre', { text: lines.slice(1).join('\n') })]));
  }
}

var events = new EventSource('/hub/api/users/' + encodeURIComponent(owner) + '/server/progress');
events.onmessage = function (message) {
  var event;
  try {
    event = JSON.parse(message.data);
  } catch (err) {
    return;
  }
  if (event.failed) {
    events.close();
    fail(event.reason.charAt(0).toUpperCase() + event.reason.slice(1));
    return;
  }
  showProgress(event.progress);
  if (event.ready) {
    finished = true;
    events.close();
    showStep('ready', 'done');
    text.textContent = 'Ready. Opening…';
    location.replace(next);
    return;
  }
  if (event.step) showStep(event.step, 'current');
  text.textContent = event.message + '…';
};
events.onerror = function () {
  if (finished) return;
  // A dropped connection is retried by the browser; a refused stream (no access to the
  // server's status, no start under way) is not, and there is nothing more to wait for.
  if (events.readyState !== EventSource.CLOSED) {
    text.textContent = 'Connection to the hub lost; reconnecting…';
    return;
  }
  fail('Cannot follow the start of ' + owner + "'s server; reload this page to try again.");
};
