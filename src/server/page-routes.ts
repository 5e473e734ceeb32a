/**
 * The HTML pages (ejs in views/server/). Pages are shells: their scripts load data through the
 * GraphQL API and keep it live over the subscription, so what a page shows is checked exactly as
 * the API is. A visitor without `read` gets the same "no access" page whether or not the owner
 * has any workflows.
 */
import { Router, type Response } from 'express';
import { graphqlNames, OPERATIONS, type Operation } from '../authz/index.js';
import { isValidWorkflowName } from '../config/index.js';
import type { DecisionMaker } from './decisions.js';

export interface PageContext {
  owner: string;
  /** `/user/O/` */
  base: string;
}

function render(res: Response, page: PageContext, view: string, status: number, locals: Record<string, unknown>): void {
  const identity = res.locals.identity;
  const links = [
    { href: '/hub/home', label: 'Hub' },
    { href: page.base, label: identity.user === page.owner ? 'Your workflows' : `${page.owner}'s workflows` },
    ...(identity.user === page.owner ? [{ href: `${page.base}sharing`, label: 'Sharing' }] : []),
  ];
  res.status(status).render(`server/${view}`, {
    current: res.req.baseUrl + res.req.path,
    xsrf: identity.xsrf ?? '',
    base: `${page.base}static`,
    root: page.base,
    user: identity.user,
    owner: page.owner,
    links,
    ...locals,
  });
}


export function pageRoutes(page: PageContext, decisions: DecisionMaker): Router {
  const router = Router();

  const readOrRefuse = (res: Response, what: string): ReadonlySet<Operation> | undefined => {
    const decision = decisions.check(res.locals.identity, ['read'], what);
    if (decision.allowed) return decision.permitted;
    render(res, page, 'message', 403, {
      title: 'No access',
      heading: `You do not have access to ${page.owner}'s workflows`,
      text: `${page.owner} has not shared their workflows with you. If you need them, ask ${page.owner} to add you on their sharing page.`,
    });
    return undefined;
  };

  router.get('/', (_req, res) => {
    const permitted = readOrRefuse(res, 'workflow list page');
    if (!permitted) return;
    render(res, page, 'workflows', 200, { title: `${page.owner}'s workflows`, permissions: graphqlNames(permitted) });
  });

  router.get('/workflows/:id', (req, res) => {
    const permitted = readOrRefuse(res, 'workflow page');
    if (!permitted) return;
    const id = req.params.id;
    if (!isValidWorkflowName(id)) {
      render(res, page, 'message', 404, {
        title: 'Not found',
        heading: 'No such workflow',
        text: 'Workflow names are letters, digits, ".", "_", "-" and "@".',
      });
      return;
    }
    render(res, page, 'workflow', 200, { title: `${id} · ${page.owner}`, workflow: id, permissions: graphqlNames(permitted) });
  });

  router.get('/sharing', (_req, res) => {
    if (!decisions.checkOwner(res.locals.identity, 'sharing page')) {
      render(res, page, 'message', 403, {
        title: 'Owner only',
        heading: `Only ${page.owner} can change sharing`,
        text: `The sharing page lets ${page.owner} decide who may see and control their workflows; it is not open to anyone else.`,
      });
      return;
    }
    render(res, page, 'sharing', 200, { title: 'Sharing', operations: OPERATIONS });
  });

  return router;
}
