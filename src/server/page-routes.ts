/**
 * The HTML pages (ejs in views/server/). Pages are shells: their scripts load data through the
 * GraphQL API and keep it live over the subscription, so what a page shows is checked exactly as
 * the API is. A visitor without `read` (server-wide or on any workflow) gets the same "no access"
 * page whether or not the owner has any workflows. A workflow page carries that workflow's
 * permissions. A workflow that does not exist, and one the visitor may not read, get the same 404
 * page, so that the page discloses nothing of which workflows exist.
 */
import { Router, type Response } from 'express';
import { graphqlNames, OPERATIONS } from '../authz/index.js';
import { permissionsView } from '../graphql/permission-stream.js';
import { isValidWorkflowName } from '../config/names.js';
import type { DecisionMaker } from './decisions.js';
import { assetBase, moduleImports } from '../util/static-assets.js';

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
    base: assetBase(`${page.base}static`),
    moduleImports,
    root: page.base,
    user: identity.user,
    owner: page.owner,
    links,
    ...locals,
  });
}


/** The product's 404 page, for a browser asking for something this server does not have. */
export function renderNotFound(res: Response, page: PageContext, heading = 'Page not found', text = `There is nothing at this address on ${page.owner}'s workflow server.`): void {
  render(res, page, 'message', 404, { title: 'Not found', heading, text, notFound: true });
}

export function pageRoutes(page: PageContext, decisions: DecisionMaker, workflowExists: (workflow: string) => boolean): Router {
  const router = Router();

  const openOrRefuse = (res: Response, what: string): boolean => {
    if (decisions.open(res.locals.identity, what)) return true;
    render(res, page, 'message', 403, {
      title: 'No access',
      heading: `You do not have access to ${page.owner}'s workflows`,
      text: decisions.denial(res.locals.identity).text,
    });
    return false;
  };

  router.get('/', (_req, res) => {
    if (!openOrRefuse(res, 'workflow list page')) return;
    render(res, page, 'workflows', 200, { title: `${page.owner}'s workflows`, ...permissionsView(decisions.viewer(res.locals.identity).summary()) });
  });

  router.get('/workflows/:id', (req, res) => {
    if (!openOrRefuse(res, 'workflow page')) return;
    const id = req.params.id;
    if (!isValidWorkflowName(id)) {
      renderNotFound(res, page, 'No such workflow', 'Workflow names are letters, digits, ".", "_", "-" and "@".');
      return;
    }
    const viewer = decisions.viewer(res.locals.identity);
    if (!viewer.mayRead(id) || !workflowExists(id)) {
      renderNotFound(res, page, 'No such workflow', `${page.owner} has no workflow "${id}" that you can see.`);
      return;
    }
    const permitted = viewer.permitted(id);
    render(res, page, 'workflow', 200, { title: `${id} · ${page.owner}`, workflow: id, permissions: graphqlNames(permitted), operations: OPERATIONS });
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
