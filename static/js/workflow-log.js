// The workflow's own event log as a small panel, newest first. It refreshes when deltas say
// something happened (at most one request in flight, at most one a second) and on a slow timer
// otherwise.
import { graphql } from './gql.js';
import { clockTime, el } from './ui.js';

const LIMIT = 100;
const MIN_GAP_MS = 1000;
const IDLE_REFRESH_MS = 5000;
const TICK_MS = 1000;

/** `container`: the panel's list element; `onError(err)` when a refresh fails. */
export function createWorkflowLog({ container, caption, workflow, onError }) {
  let entries = [];
  let inFlight = false;
  let again = false;
  let last = 0;
  let timer;
  let stopped = false;

  const render = () => {
    if (entries.length === 0) {
      container.replaceChildren(el('p', { class: 'empty small' }, 'Nothing logged yet.'));
      return;
    }
    container.replaceChildren(...[...entries].reverse().map((e) => el('div', { class: `log-entry level-${e.level.toLowerCase()}` },
      el('span', { class: 'when', title: e.at }, clockTime(e.at)),
      el('span', { class: `level level-${e.level.toLowerCase()}` }, e.level),
      el('span', { class: 'kind' }, e.kind),
      el('span', { class: 'text' }, e.text),
      el('span', { class: 'by' }, e.by ? e.by : ''))));
    caption.textContent = `last ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`;
  };

  const fetchNow = async () => {
    inFlight = true;
    last = Date.now();
    try {
      const result = await graphql(
        'query Log($w: ID!, $n: Int) { workflowLog(workflow: $w, limit: $n) { at level kind by text } }',
        { w: workflow, n: LIMIT },
      );
      entries = result.workflowLog;
      render();
    } catch (err) {
      onError(err);
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      schedule();
    }
  };

  /** Asks for a refresh soon; calls while one is pending or running fold into one. */
  const schedule = () => {
    if (stopped) return;
    if (inFlight) {
      again = true;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(fetchNow, Math.max(0, last + MIN_GAP_MS - Date.now()));
  };

  const idle = setInterval(() => {
    if (document.visibilityState === 'visible' && !inFlight && Date.now() - last >= IDLE_REFRESH_MS) schedule();
  }, TICK_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') schedule();
  });

  return {
    refresh: schedule,
    stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(idle);
    },
  };
}
