import { Router } from 'express';
import type { Scope } from '../../config/scopes.js';
import type { HubContext } from '../context.js';
import type { Access } from '../roles/permissions.js';
import { allowedKeys, pick } from './models.js';
import { accessOf, apiError, requireListScope, requireScope } from './respond.js';

/** JupyterHub's service model, from JupyterHub.services. */
export function serviceModel(ctx: HubContext, name: string) {
  const service = ctx.config.JupyterHub.services.find((s) => s.name === name);
  return {
    kind: 'service' as const,
    name,
    roles: ctx.permissions.rolesOfService(name),
    admin: false,
    url: '',
    prefix: '',
    command: service?.command ?? [],
    // The hub does not report its services' processes here.
    pid: 0,
    info: {},
    display: false,
  };
}

type ServiceModel = ReturnType<typeof serviceModel>;

/** Which keys each scope reveals (JupyterHub's access map for services). */
const SERVICE_KEYS: readonly [Scope, readonly (keyof ServiceModel)[]][] = [
  ['read:services', ['kind', 'name', 'admin', 'url', 'prefix', 'command', 'pid', 'info', 'display']],
  ['read:services:name', ['kind', 'name', 'admin']],
  ['read:roles:services', ['kind', 'name', 'roles', 'admin']],
];

function visibleService(ctx: HubContext, access: Access, name: string): Partial<ServiceModel> | undefined {
  const keys = allowedKeys(access, SERVICE_KEYS, { service: name });
  return keys.size === 0 ? undefined : pick(serviceModel(ctx, name), keys);
}

/** GET /services (list:services) and GET /services/NAME (read:services): JupyterHub.services. */
export function servicesApi(ctx: HubContext): Router {
  const router = Router();
  const names = () => ctx.config.JupyterHub.services.map((s) => s.name);

  router.get('/services', (req, res) => {
    const access = accessOf(ctx.permissions, req);
    if (!requireListScope(res, access, 'list:services')) return;
    const listed = names().filter((name) => access.can('list:services', { service: name }));
    res.json(Object.fromEntries(listed.map((name) => [name, visibleService(ctx, access, name) ?? { kind: 'service', name }])));
  });

  router.get('/services/:name', (req, res) => {
    const name = String(req.params.name);
    const access = accessOf(ctx.permissions, req);
    if (!requireScope(res, access, ['read:services', 'read:services:name', 'read:roles:services'], { service: name })) return;
    if (!names().includes(name)) return apiError(res, 404, `No such service: ${name.slice(0, 64)}`);
    res.json(visibleService(ctx, access, name));
  });

  return router;
}
