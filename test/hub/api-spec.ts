/**
 * The response shapes of JupyterHub 5's REST API (docs/source/_static/rest-api.yml, 5.5.1),
 * written down key by key: each key the spec gives, with the JSON types it allows. The API
 * tests hold Flotilla's answers to them.
 */
import { expect } from 'vitest';

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';
export type Shape = Record<string, readonly JsonType[]>;

const S = ['string'] as const;
const S0 = ['string', 'null'] as const;
const B = ['boolean'] as const;
const A = ['array'] as const;
const O = ['object'] as const;
const O0 = ['object', 'null'] as const;
const N = ['number'] as const;

/**
 * #/components/schemas/User (server, pending, last_activity may be null: JupyterHub writes None).
 * `auth_state` is present only for holders of admin:auth_state (null here: Flotilla keeps none).
 */
export const USER: Shape = { name: S, kind: S, admin: B, roles: A, groups: A, server: S0, pending: S0, last_activity: S0, servers: O };
export const USER_OPTIONAL: Shape = { auth_state: O0 };
/** User keys as JupyterHub's user_model adds them beyond the schema (`created`). */
export const USER_MODEL: Shape = { ...USER, created: S0 };
/** #/components/schemas/Server */
export const SERVER: Shape = {
  name: S,
  ready: B,
  stopped: B,
  pending: S0,
  url: S,
  progress_url: S,
  full_url: S0,
  full_progress_url: S0,
  started: S0,
  last_activity: S0,
  user_options: O,
};
/** #/components/schemas/RequestIdentity, for a user. */
export const REQUEST_IDENTITY: Shape = { ...USER, session_id: S0, scopes: A, token_id: S0 };
/** #/components/schemas/Service */
export const SERVICE: Shape = { name: S, kind: S, admin: B, roles: A, url: S, prefix: S, pid: N, command: A, info: O };
/** RequestIdentity for a service. */
export const SERVICE_IDENTITY: Shape = { ...SERVICE, session_id: S0, scopes: A, token_id: S0 };
/** #/components/schemas/Token */
export const TOKEN: Shape = {
  token: S,
  id: S,
  user: S,
  service: S,
  roles: A,
  scopes: A,
  note: S,
  expires_at: S0,
  created: S,
  last_activity: S0,
  session_id: S0,
};
/** #/components/schemas/Group */
export const GROUP: Shape = { name: S, kind: S, users: A, properties: O, roles: A };
/** #/components/schemas/Pagination */
export const PAGINATION: Shape = { total: N, limit: N, offset: N, next: O0 };
/** GET / */
export const API_ROOT: Shape = { version: S };
/** GET /info */
export const INFO: Shape = { version: S, sys_executable: S, authenticator: O, spawner: O };

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonType;
}

/**
 * Every key of `required` is present with an allowed type; keys of `optional` that are present
 * have an allowed type (the spec marks none as required, but a JupyterHub client relies on these).
 */
export function expectShape(value: unknown, required: Shape, optional: Shape = {}): void {
  expect(typeOf(value)).toBe('object');
  const obj = value as Record<string, unknown>;
  for (const [key, types] of Object.entries(required)) {
    expect(Object.keys(obj), `missing key ${key}`).toContain(key);
    expect(types, `type of ${key} (${JSON.stringify(obj[key])})`).toContain(typeOf(obj[key]));
  }
  for (const [key, types] of Object.entries(optional)) {
    if (key in obj) expect(types, `type of ${key}`).toContain(typeOf(obj[key]));
  }
}

/** A token model: either `user` or `service` names the owner. */
export function expectToken(value: unknown, withSecret = false): void {
  const { token: _t, user: _u, service: _s, ...rest } = TOKEN;
  expectShape(value, withSecret ? { ...rest, token: S, user: S } : { ...rest, user: S });
  expect(JSON.stringify(value)).not.toMatch(withSecret ? /^$/ : /flt_/);
}
