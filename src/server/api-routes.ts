/**
 * REST endpoints under `/user/O/api/`: the caller's own profile (any authenticated user: it tells
 * them only what they may do), and the owner-only user_authorization endpoints.
 */
import express, { Router, type Request, type Response } from 'express';
import { formatExplanation, graphqlNames, OPERATIONS } from '../authz/index.js';
import { isValidUserName, loadOwnerAuthorization } from '../config/index.js';
import type { AccessControl } from './access.js';
import { AtomicWriteError } from '../util/atomic-write.js';
import { errorMessage, isPlainObject } from '../util/values.js';
import type { DecisionMaker } from './decisions.js';
import { MAX_AUTHORIZATION_BYTES } from './limits.js';

/** How the sharing preview names people it cannot name: these can never be user names. */
const EVERYONE_ELSE = '(anyone else)';
const memberOf = (group: string) => `(any member of ${group})`;

export function apiRoutes(access: AccessControl, decisions: DecisionMaker, dataDir: string): Router {
  const router = Router();
  const json = express.json({ limit: MAX_AUTHORIZATION_BYTES, strict: false });

  router.get('/userprofile', (_req, res) => {
    const identity = res.locals.identity;
    const permitted = access.permitted(identity);
    res.json({
      username: identity.user,
      owner: access.owner,
      groups: identity.groups,
      permissions: graphqlNames(permitted),
    });
  });

  const ownerOnly = (req: Request, res: Response, next: () => void): void => {
    if (decisions.checkOwner(res.locals.identity, `${req.method} api/authorization`)) next();
    else res.status(403).json({ error: `only ${access.owner} may manage who can use this server` });
  };
  router.use('/authorization', ownerOnly);

  router.get('/authorization', (_req, res) => {
    try {
      res.json(loadOwnerAuthorization(dataDir, access.owner)?.toJSON() ?? {});
    } catch (err) {
      res.status(409).json({ error: errorMessage(err) });
    }
  });

  router.put('/authorization', json, (req, res) => {
    if (!isPlainObject(req.body)) {
      res.status(400).json({ error: 'the body must be a JSON object mapping "*", user names and "group:<name>" to permission lists' });
      return;
    }
    try {
      const ua = access.replaceUserAuthorization(req.body);
      res.json(ua.toJSON());
    } catch (err) {
      // Not saved means not applied: the previous sharing stays, on disk and in every decision.
      if (err instanceof AtomicWriteError) res.status(err.diskFull ? 507 : 500).json({ error: err.message });
      else res.status(400).json({ error: errorMessage(err) });
    }
  });

  router.post('/authorization/preview', json, (req, res) => {
    if (!isPlainObject(req.body)) {
      res.json({ valid: false, error: 'must be a JSON object mapping "*", user names and "group:<name>" to permission lists' });
      return;
    }
    let draft;
    try {
      draft = access.validateUserAuthorization(req.body);
    } catch (err) {
      res.json({ valid: false, error: errorMessage(err) });
      return;
    }
    const subjects = new Map<string, { user: string; groups: string[] }>();
    subjects.set('*', { user: EVERYONE_ELSE, groups: [] });
    for (const key of Object.keys(req.body)) {
      if (key.startsWith('group:')) subjects.set(key, { user: memberOf(key.slice(6)), groups: [key.slice(6)] });
      else if (key !== '*') subjects.set(key, { user: key, groups: access.groupsOf(key, []) });
    }
    for (const user of access.knownUsers()) {
      if (user !== access.owner && !subjects.has(user)) subjects.set(user, { user, groups: access.groupsOf(user, []) });
    }
    const entries = [...subjects].map(([key, subject]) => {
      const permitted = access.previewFor(draft, subject);
      return { key, groups: subject.groups, permitted: OPERATIONS.filter((op) => permitted.has(op)) };
    });
    res.json({ valid: true, entries });
  });

  router.get('/authorization/explain', (req, res) => {
    const user = req.query.user;
    if (!isValidUserName(user)) {
      res.status(400).json({ error: 'query parameter "user" must be a user name' });
      return;
    }
    let groups: string[];
    if (typeof req.query.groups === 'string') {
      groups = req.query.groups.split(',').map((g) => g.trim()).filter((g) => g.length > 0);
      const bad = groups.find((g) => !isValidUserName(g));
      if (bad !== undefined) {
        res.status(400).json({ error: `query parameter "groups": ${JSON.stringify(bad)} is not a group name` });
        return;
      }
    } else if (req.query.groups === undefined) {
      groups = access.groupsOf(user, []);
    } else {
      res.status(400).json({ error: 'query parameter "groups" must be a comma-separated list, given once' });
      return;
    }
    const explanation = access.explain({ user, groups });
    res.json({ explanation, text: formatExplanation(explanation) });
  });

  return router;
}
