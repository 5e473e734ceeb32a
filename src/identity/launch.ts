/**
 * How the hub starts a workflow server, over the IPC channel Node opens between them:
 *
 *   hub → server  {type: "start", secret, site, groups}   the proof secret, the site settings and
 *                                                         the hub's group membership
 *   server → hub  {type: "listening", port, pid}          bound (port 0: the kernel chose), or
 *                 {type: "failed", message}               could not start; it exits
 *   hub → server  {type: "adopted", pageVisit?: true}     the hub has recorded it as running;
 *                                                         pageVisit: it started for someone opening
 *                                                         one of its pages, who is sent there next
 *
 * After "adopted" the server closes the channel and lives on without the hub. A server whose
 * channel closes before "adopted" exits: its hub died mid-start and has no record of it, so it
 * must not go on running an engine nobody knows about.
 *
 * Why a channel and not the environment or arguments: the secret must not be visible in
 * /proc/PID/environ or /proc/PID/cmdline, and must not be inherited by jobs; the port is the
 * one the server bound, with no race between choosing a free port and binding it.
 */
import { isPlainObject } from '../util/values.js';

/**
 * What a server needs from the site file: its `WorkflowServer` section as written (validated by
 * the hub, parsed again by the server), or why the site file is currently unusable, in which
 * case access users get nothing. Nothing here is secret: the rest of the site file never leaves
 * the hub.
 */
export type SiteSettings = { workflowServer: Record<string, unknown> } | { error: string };

/** Group → members, as the hub knows them. */
export type Membership = Record<string, string[]>;

export interface StartMessage {
  type: 'start';
  secret: string;
  site: SiteSettings;
  groups: Membership | null;
  /** The hub's account names (for the sharing page's warnings about names nobody has); null if unknown. */
  accounts: string[] | null;
}

export type ServerReport = { type: 'listening'; port: number; pid: number } | { type: 'failed'; message: string };

export interface AdoptedMessage {
  type: 'adopted';
  /** The server started for someone opening one of its pages, who is sent there next. */
  pageVisit?: true;
}

/** Reads a SiteSettings value that came over the wire; anything malformed is an error value. */
export function parseSiteSettings(value: unknown): SiteSettings {
  if (isPlainObject(value) && typeof value.error === 'string') return { error: value.error };
  if (isPlainObject(value) && isPlainObject(value.workflowServer)) return { workflowServer: value.workflowServer };
  return { error: 'the hub sent site settings in an unknown shape' };
}

export function parseStartMessage(value: unknown): StartMessage | string {
  if (!isPlainObject(value) || value.type !== 'start') return 'expected a start message';
  if (typeof value.secret !== 'string' || value.secret.length < 16) return 'the start message has no usable secret';
  const groups = value.groups;
  if (groups !== null && !isMembership(groups)) return 'the start message has malformed groups';
  const accounts = value.accounts ?? null;
  if (accounts !== null && !isAccountList(accounts)) return 'the start message has a malformed account list';
  return { type: 'start', secret: value.secret, site: parseSiteSettings(value.site), groups, accounts };
}

export function parseServerReport(value: unknown): ServerReport | undefined {
  if (!isPlainObject(value)) return undefined;
  if (value.type === 'listening' && Number.isInteger(value.port) && Number.isInteger(value.pid)) {
    return { type: 'listening', port: value.port as number, pid: value.pid as number };
  }
  if (value.type === 'failed' && typeof value.message === 'string') return { type: 'failed', message: value.message };
  return undefined;
}

export function isMembership(value: unknown): value is Membership {
  return isPlainObject(value) && Object.values(value).every(isAccountList);
}

export function isAccountList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((u) => typeof u === 'string');
}
