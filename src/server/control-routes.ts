/**
 * The hub's own endpoints (identity `user: null` only; see identity.ts): health, and the pushes of
 * the hub's full group membership and of the site settings.
 */
import express, { Router } from 'express';
import { isPlainObject } from '../util/values.js';
import { isValidUserName } from '../config/names.js';
import { parseSiteSettings } from '../identity/launch.js';
import type { AccessControl } from './access.js';
import { MAX_CONTROL_BYTES } from './limits.js';
import { health } from './quick-answers.js';

function parseMembership(body: unknown): { groups: Record<string, string[]>; accounts?: string[] } | string {
  if (!isPlainObject(body) || !isPlainObject(body.groups)) return 'body must be {"groups": {"<group>": ["<user>", …]}, "accounts": ["<user>", …]}';
  const accounts = body.accounts;
  if (accounts !== undefined && !(Array.isArray(accounts) && accounts.every(isValidUserName))) return 'accounts: must be a list of user names';
  const groups: Record<string, string[]> = {};
  for (const [group, users] of Object.entries(body.groups)) {
    if (!isValidUserName(group)) return `groups: ${JSON.stringify(group)} is not a group name`;
    if (!Array.isArray(users) || !users.every(isValidUserName)) return `groups › ${group}: must be a list of user names`;
    groups[group] = users;
  }
  return accounts === undefined ? { groups } : { groups, accounts: accounts as string[] };
}

export function controlRoutes(access: AccessControl): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    const { status, body } = health(access.owner);
    res.status(status).json(body);
  });
  router.put('/membership', express.json({ limit: MAX_CONTROL_BYTES }), (req, res) => {
    const parsed = parseMembership(req.body);
    if (typeof parsed === 'string') {
      res.status(400).json({ error: parsed });
      return;
    }
    access.setMembership(parsed.groups, parsed.accounts);
    res.json({ status: 'ok', groups: Object.keys(parsed.groups).length });
  });
  // A malformed body still applies, as an error: whatever the hub meant, access users get nothing.
  router.put('/site', express.json({ limit: MAX_CONTROL_BYTES }), (req, res) => {
    const site = parseSiteSettings(req.body);
    access.setSite(site);
    res.json({ status: 'ok', valid: !('error' in site) });
  });
  return router;
}
