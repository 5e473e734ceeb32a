// Shared helpers for hub pages (an ES module each page script imports): REST calls with the
// page's XSRF token, small DOM helpers, and dates shown in the reader's locale on load.
export const xsrf = (document.querySelector('meta[name="_xsrf"]') || {}).content || '';

export function api(method, path, body) {
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

export function el(tag, attrs, children) {
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
export function toast(message, isError) {
  var node = document.querySelector('.toast') || document.body.appendChild(el('div', { class: 'toast', role: 'status' }));
  node.className = 'toast' + (isError ? ' error' : '');
  node.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(function () { node.remove(); }, 5000);
}

export function badge(status) {
  return el('span', { class: 'badge status-' + (status === 'starting' ? 'stopping' : status), text: status });
}

export function when(iso) {
  if (!iso) return 'never';
  var s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return new Date(iso).toLocaleDateString();
}

/** A date and time in the reader's own locale and time zone. */
export function localTime(iso) {
  var d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString();
}

// The server renders <time> in UTC, not knowing the reader's locale; the browser knows it.
export function localiseTimes(root) {
  root.querySelectorAll('time[datetime]').forEach(function (t) { t.textContent = localTime(t.getAttribute('datetime')); });
}
localiseTimes(document);

