/**
 * Why a visitor may not open an owner's server, named by the layer that refused and so by the
 * person who can change it: a scoped token (its holder), the site's files or limits (an
 * administrator), the owner's sharing file or rules (the owner). Pages, userprofile and GraphQL
 * say the same words. The site file's contents are never part of the words: owners and visitors
 * may not see it.
 */
export type DenialReason =
  /** A scoped token without `read`: a token with more scopes would do. */
  | 'token-scope'
  /** The site authorization is invalid: access users get nothing until an administrator fixes it. */
  | 'site-invalid'
  /** The hub has not yet told this server who is in which group. */
  | 'groups-unknown'
  /** The site's limit for this visitor (or no site authorization at all) leaves no `read`. */
  | 'site-limit'
  /** The owner's sharing file is invalid: access users get nothing until the owner fixes it. */
  | 'owner-file-invalid'
  /** The owner's sharing does not give this visitor `read`. */
  | 'owner-sharing';

export interface Denial {
  reason: DenialReason;
  /** One sentence: which layer refused and who can change it. */
  text: string;
}

export function describeDenial(reason: DenialReason, owner: string): Denial {
  return { reason, text: DENIAL_TEXT[reason](owner) };
}

const DENIAL_TEXT: Record<DenialReason, (owner: string) => string> = {
  'token-scope': () => 'The token you used does not carry read access; use one with the custom:workflows:read scope, or sign in.',
  'site-invalid': () =>
    'The site configuration is invalid, so nobody but each owner has access to any workflow server until an administrator fixes it. Tell your site administrator.',
  'groups-unknown': () => 'This workflow server has not yet heard from the hub who is in which group; try again in a moment, and tell your site administrator if this lasts.',
  'site-limit': (owner) =>
    `The site's rules do not let you see ${owner}'s workflows, whatever ${owner} shares. Only a site administrator can change that.`,
  'owner-file-invalid': (owner) =>
    `${owner}'s sharing settings are invalid, so nobody else has access until ${owner} fixes them on their sharing page. Let ${owner} know.`,
  'owner-sharing': (owner) => `${owner} has not shared their workflows with you. If you need them, ask ${owner} to add you on their sharing page.`,
};
