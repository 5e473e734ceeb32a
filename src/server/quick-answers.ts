/**
 * The answers asked for most, which the front door gives without express (front-door.ts) and
 * express gives alike for the rest of their requests (HEAD, a query string, another spelling).
 */
import { permissionsView } from '../graphql/permission-stream.js';
import type { Identity } from '../identity/proof.js';
import type { AccessControl } from './access.js';
import type { DecisionMaker } from './decisions.js';

export interface Answer {
  status: number;
  body: object;
}

/**
 * `api/userprofile`: what the caller may do here, for anyone who may open the server; 403 naming
 * the refusing layer for anyone else.
 */
export function userProfile(access: AccessControl, decisions: DecisionMaker, identity: Identity): Answer {
  if (!decisions.open(identity, 'userprofile')) {
    const { reason, text } = decisions.denial(identity);
    return { status: 403, body: { error: text, reason } };
  }
  const viewer = decisions.viewer(identity);
  return { status: 200, body: { username: identity.user, owner: access.owner, groups: viewer.groups(), ...permissionsView(viewer.summary()) } };
}

/** `/_flotilla/health`, the hub's poll: which owner's server this is, in which process. */
export function health(owner: string): Answer {
  return { status: 200, body: { status: 'ok', owner, pid: process.pid } };
}
