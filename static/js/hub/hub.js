// Shared helpers for hub pages: REST calls with the page's XSRF token, small DOM helpers.
(function () {
  'use strict';
  var xsrf = (document.querySelector('meta[name="_xsrf"]') || {}).content || '';

  function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json', 'X-XSRFToken': xsrf } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 204) return null;
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.message || res.status + ' ' + res.statusText);
        return data;
      });
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  var toastTimer;
  function toast(message, isError) {
    var node = document.querySelector('.toast') || document.body.appendChild(el('div', { class: 'toast', role: 'status' }));
    node.className = 'toast' + (isError ? ' error' : '');
    node.textContent = message;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.remove(); }, 5000);
  }

  function badge(status) {
    return el('span', { class: 'badge status-' + (status === 'starting' ? 'stopping' : status), text: status });
  }

  function when(iso) {
    if (!iso) return 'never';
    var s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) return 'just now';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return new Date(iso).toLocaleDateString();
  }

  /** A date and time in the reader's own locale and time zone. */
  function localTime(iso) {
    var d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString();
  }

  // The server renders <time> in UTC, not knowing the reader's locale; the browser knows it.
  function localiseTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (t) { t.textContent = localTime(t.getAttribute('datetime')); });
  }
  localiseTimes(document);

  window.hub = { xsrf: xsrf, api: api, el: el, toast: toast, badge: badge, when: when, localTime: localTime, localiseTimes: localiseTimes };
})();
