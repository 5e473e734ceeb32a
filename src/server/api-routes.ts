/**
 * REST endpoints under `/user/O/api/`: the caller's own profile (for anyone who may open the
 * server, `read` server-wide or on some workflow: what they may do, server-wide and on the
 * workflows they may read where that differs; 403 for anyone else), and the owner-only sharing endpoints:
 * user_authorization, each workflow's section of workflow_authorization, previews and explanations.
 */
import { readFileSync } from 'node:fs';
import express, { Router, type Request, type Response } from 'express';
import { formatExplanation, OPERATIONS } from '../authz/index.js';
import { missingUserNote, sharingKeyWarnings } from '../authz/sharing-warnings.js';
import { isValidUserName, isValidWorkflowName, NAME_RULE } from '../config/names.js';
import { loadOwnerSharing, ownerConfigPath, type OwnerSharing } from '../config/owner.js';
import { OwnerFileUnusableError, withWorkflowSection, type AccessControl } from './access.js';
import { AtomicWriteError } from '../util/atomic-write.js';
import { errorMessage, isPlainObject } from '../util/values.js';
import type { DecisionMaker } from './decisions.js';
import { MAX_AUTHORIZATION_BYTES } from './limits.js';
import { userProfile } from './quick-answers.js';

/** How the sharing preview names people it cannot name: these can never be user names. */
const EVERYONE_ELSE = '(anyone else)';
const memberOf = (group: string) => `(any member of ${group})`;

const BODY_SHAPE = 'the body must be a JSON object mapping "*", user names and "group:<name>" to permission lists';

/** JSON with every non-ASCII character escaped, so that it fits in an HTTP header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `?workflow=W`: undefined when absent, null after answering 400 for a bad one. */
function optionalWorkflow(req: Request, res: Response): string | undefined | null {
  const workflow = req.query.workflow;
  if (workflow === undefined) return undefined;
  if (isValidWorkflowName(workflow)) return workflow;
  res.status(400).json({ error: `query parameter "workflow" must be a workflow name: ${NAME_RULE} (no globs)` });
  return null;
}

export function apiRoutes(
  access: AccessControl,
  decisions: DecisionMaker,
  dataDir: string,
  workflowExists: (workflow: string) => boolean,
): Router {
  const router = Router();
  const json = express.json({ limit: MAX_AUTHORIZATION_BYTES, strict: false });

  router.get('/userprofile', (_req, res) => {
    const { status, body } = userProfile(access, decisions, res.locals.identity);
    res.status(status).json(body);
  });

  const ownerOnly = (req: Request, res: Response, next: () => void): void => {
    if (decisions.checkOwner(res.locals.identity, `${req.method} api/authorization`)) next();
    else res.status(403).json({ error: `only ${access.owner} may manage who can use this server` });
  };
  router.use('/authorization', ownerOnly);

  /**
   * The owner's file as it is on disk now. An invalid file is a 409 naming the problem, with the
   * file's text (when it is no larger than a save may be) for the owner to fix it on the page.
   */
  const onDisk = (res: Response): OwnerSharing | undefined => {
    try {
      return loadOwnerSharing(dataDir, access.owner);
    } catch (err) {
      res.status(409).json({ error: errorMessage(err), ...rawOwnerFile() });
      return undefined;
    }
  };

  const rawOwnerFile = (): { text?: string } => {
    try {
      const text = readFileSync(ownerConfigPath(dataDir, access.owner));
      return text.length <= MAX_AUTHORIZATION_BYTES ? { text: text.toString('utf8') } : {};
    } catch {
      return {};
    }
  };

  /** Where sharing stands now, for the sharing page's warnings: the site's state is told, never its contents. */
  const state = () => ({ siteInvalid: access.siteInvalid, ownerFileInvalid: access.ownerFileProblem !== undefined });
  router.get('/authorization/state', (_req, res) => {
    res.json(state());
  });

  /** Replaces the owner's file with text the owner fixed by hand (body: {"text": "..."}). */
  router.put('/authorization/file', json, (req, res) => {
    const text: unknown = isPlainObject(req.body) ? req.body.text : undefined;
    if (typeof text !== 'string') {
      res.status(400).json({ error: 'the body must be a JSON object {"text": "<the whole file>"}' });
      return;
    }
    saving(res, () => {
      access.replaceOwnerFile(text);
      return { saved: true };
    });
  });

  router.get('/authorization', (_req, res) => {
    const sharing = onDisk(res);
    if (sharing) res.json(sharing.user_authorization?.toJSON() ?? {});
  });

  router.get('/authorization/workflows', (_req, res) => {
    const sharing = onDisk(res);
    if (sharing) res.json(sharing.workflow_authorization?.toJSON() ?? {});
  });

  /** The `:workflow` of a route, checked against the naming rule (globs are not names). */
  const workflowParam = (req: Request, res: Response): string | undefined => {
    const workflow = req.params.workflow;
    if (isValidWorkflowName(workflow)) return workflow;
    res.status(400).json({ error: `${JSON.stringify(workflow)} is not a workflow name: ${NAME_RULE} (no globs)` });
    return undefined;
  };

  /** Saves through `save`; not saved means not applied: the previous sharing stays, on disk and in every decision. */
  const saving = (res: Response, save: () => unknown): void => {
    try {
      res.json(save());
    } catch (err) {
      if (err instanceof AtomicWriteError) res.status(err.diskFull ? 507 : 500).json({ error: err.message });
      else if (err instanceof OwnerFileUnusableError) res.status(409).json({ error: err.message });
      else res.status(400).json({ error: errorMessage(err) });
    }
  };

  /** Warnings about the keys of a draft (of user_authorization, or of W's section). */
  const keyWarnings = (draft: Record<string, unknown>, workflow: string | undefined): string[] =>
    sharingKeyWarnings(Object.keys(draft), access.directory(), workflow === undefined ? '' : `workflow_authorization › ${workflow} › `);

  /**
   * Saves rules; the answer's body stays the saved rules. Keys that name nobody are saved all the
   * same, and named in a `Flotilla-Warnings` header: a JSON list of sentences.
   */
  const savingRules = (res: Response, body: Record<string, unknown>, workflow: string | undefined, save: () => unknown): void =>
    saving(res, () => {
      const saved = save();
      const warnings = keyWarnings(body, workflow);
      if (warnings.length > 0) res.set('Flotilla-Warnings', asciiJson(warnings));
      return saved;
    });

  router.put('/authorization/workflows/:workflow', json, (req, res) => {
    const workflow = workflowParam(req, res);
    if (workflow === undefined) return;
    if (!isPlainObject(req.body)) {
      res.status(400).json({ error: BODY_SHAPE });
      return;
    }
    const body = req.body;
    savingRules(res, body, workflow, () => access.replaceWorkflowSection(workflow, body)?.toJSON() ?? {});
  });

  router.delete('/authorization/workflows/:workflow', (req, res) => {
    const workflow = workflowParam(req, res);
    if (workflow === undefined) return;
    saving(res, () => {
      access.replaceWorkflowSection(workflow, undefined);
      return {};
    });
  });

  router.put('/authorization', json, (req, res) => {
    if (!isPlainObject(req.body)) {
      res.status(400).json({ error: BODY_SHAPE });
      return;
    }
    const body = req.body;
    savingRules(res, body, undefined, () => access.replaceUserAuthorization(body).toJSON());
  });

  /**
   * The draft a request carries as owner sharing: of user_authorization, or (with `workflow`) of
   * that workflow's section read with the current user_authorization. Throws when invalid.
   */
  const draftSharing = (raw: Record<string, unknown>, workflow: string | undefined): OwnerSharing =>
    workflow === undefined
      ? { ...access.currentSharing, user_authorization: access.validateUserAuthorization(raw) }
      : withWorkflowSection(access.currentSharing, workflow, access.validateWorkflowSection(workflow, raw));

  /**
   * Previews a draft: of user_authorization, or (with `?workflow=W`) of W's section, which is then
   * previewed for W together with the current user_authorization. Each entry is after the site's
   * limits; `workflowExists` says whether W names a workflow now (a section for one that does not
   * exist yet is valid, and waits for it).
   */
  router.post('/authorization/preview', json, (req, res) => {
    const workflow = optionalWorkflow(req, res);
    if (workflow === null) return;
    if (!isPlainObject(req.body)) {
      res.json({ valid: false, error: `must be ${BODY_SHAPE.slice('the body must be '.length)}` });
      return;
    }
    let draft: OwnerSharing;
    try {
      draft = draftSharing(req.body, workflow);
    } catch (err) {
      res.json({ valid: false, error: errorMessage(err) });
      return;
    }
    const subjects = new Map<string, { user: string; groups: string[] }>();
    subjects.set('*', { user: EVERYONE_ELSE, groups: [] });
    for (const key of Object.keys(req.body)) {
      if (key.startsWith('group:')) subjects.set(key, { user: memberOf(key.slice(6)), groups: [key.slice(6)] });
      else if (key !== '*') subjects.set(key, { user: key, groups: access.groupsOf(key) });
    }
    for (const user of access.knownUsers()) {
      if (user !== access.owner && !subjects.has(user)) subjects.set(user, { user, groups: access.groupsOf(user) });
    }
    const entries = [...subjects].map(([key, subject]) => {
      const permitted = access.previewFor(draft, subject, workflow);
      return { key, groups: subject.groups, permitted: OPERATIONS.filter((op) => permitted.has(op)) };
    });
    res.json({
      valid: true,
      entries,
      state: state(),
      warnings: keyWarnings(req.body, workflow),
      ...(workflow === undefined ? {} : { workflow, workflowExists: workflowExists(workflow) }),
    });
  });

  /**
   * Explains a decision: GET under the saved rules; POST with a body `{"draft": {...}}` under that
   * draft (of user_authorization, or with `?workflow=W` of W's section), unsaved. `note` says when
   * the user has no account.
   */
  const explaining = (req: Request, res: Response, draft: Record<string, unknown> | undefined): void => {
    const workflow = optionalWorkflow(req, res);
    if (workflow === null) return;
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
      groups = access.groupsOf(user);
    } else {
      res.status(400).json({ error: 'query parameter "groups" must be a comma-separated list, given once' });
      return;
    }
    let sharing: OwnerSharing | undefined;
    try {
      sharing = draft === undefined ? undefined : draftSharing(draft, workflow);
    } catch (err) {
      res.status(400).json({ error: `the draft is invalid: ${errorMessage(err)}` });
      return;
    }
    const explanation = access.explain({ user, groups }, workflow, sharing);
    const note = missingUserNote(user, access.directory());
    res.json({ explanation, text: formatExplanation(explanation), draft: draft !== undefined, ...(note ? { note } : {}) });
  };
  router.get('/authorization/explain', (req, res) => explaining(req, res, undefined));
  router.post('/authorization/explain', json, (req, res) => {
    const draft: unknown = isPlainObject(req.body) ? req.body.draft : undefined;
    if (!isPlainObject(draft)) {
      res.status(400).json({ error: `the body must be {"draft": {...}}, where the draft ${BODY_SHAPE.slice('the body must be '.length)}` });
      return;
    }
    explaining(req, res, draft);
  });

  return router;
}
