// A task's details (its job, script, environment: DETAIL_FIELDS) are not part of the live task
// list, which every viewer gets whole when a workflow starts; they are fetched when the task's row
// is opened, and the live changes that follow keep them current.
//
// An answer belongs to the task as it was asked for. A task replaced meanwhile (a reconnect's
// fresh burst, a workflow cleaned and played again, access withdrawn and given back) has a new
// version, and an answer for an older one is dropped and asked again, never merged into the new.
import { graphql } from './gql.js';

export const DETAIL_FIELDS = 'exitCode pid jobId platform directives outputs script env';

/**
 * `tasks`: the page's Map id → task, patched live; `isOpen(id)`: whether its row is open;
 * `render()`: draws the table again.
 */
export function createDetailLoader({ workflow, tasks, isOpen, render }) {
  const here = new Set();
  const failed = new Map();
  const versions = new Map();
  /** Requests under way: id → the version they ask for. */
  const asking = new Map();
  let stopped = false;

  const version = (id) => versions.get(id) ?? 0;

  async function load(ids) {
    const wanted = [...new Set(ids)].filter((t) => !stopped && tasks.has(t) && !here.has(t) && asking.get(t) !== version(t));
    if (wanted.length === 0) return;
    const asked = new Map(wanted.map((t) => [t, version(t)]));
    for (const [t, v] of asked) {
      asking.set(t, v);
      failed.delete(t);
    }
    let answer;
    let error;
    try {
      answer = await graphql(`query T($w: ID!, $ids: [ID!]!) { tasks(workflow: $w, ids: $ids) { id ${DETAIL_FIELDS} } }`, { w: workflow, ids: wanted });
    } catch (err) {
      error = err;
    }
    for (const [t, v] of asked) if (asking.get(t) === v) asking.delete(t);
    if (stopped) return;
    const current = (t) => tasks.has(t) && version(t) === asked.get(t);
    if (error) {
      for (const t of wanted) if (current(t)) failed.set(t, error.message);
    } else {
      for (const t of answer.tasks) {
        if (!current(t.id)) continue;
        // A field that a live change brought wins over the answer: every change made after the
        // answer comes live too, so the row ends on the latest value either way.
        tasks.set(t.id, { ...t, ...tasks.get(t.id) });
        here.add(t.id);
      }
    }
    render();
    load(wanted.filter((t) => tasks.has(t) && !current(t) && isOpen(t)));
  }

  return {
    /** Whether `id`'s details are here. */
    has: (id) => here.has(id),
    /** Why fetching `id`'s details failed, if it did (until it is asked again). */
    failure: (id) => failed.get(id),
    /** Fetches the details of `ids` that are not here or on their way. */
    load,
    /**
     * `ids` were replaced by new copies without details, or are gone: what was fetched is for the
     * old ones. Those still there whose rows are open are fetched again.
     */
    replaced(ids) {
      for (const id of ids) {
        versions.set(id, version(id) + 1);
        here.delete(id);
        failed.delete(id);
      }
      load([...ids].filter((t) => isOpen(t)));
    },
    /** Every task was replaced or is gone (call once `tasks` holds what replaced them). */
    replacedAll() {
      this.replaced(new Set([...versions.keys(), ...here, ...tasks.keys()]));
    },
    /** Nothing more is fetched or shown (the page is cut off). */
    stop() {
      stopped = true;
      here.clear();
      failed.clear();
    },
  };
}
