import type { ServiceConfig } from '../../config/index.js';

/**
 * What a service inherits from the hub's own environment: what finds and runs programs, and the
 * locale, as JupyterHub's `Spawner.env_keep` does. Nothing else: the hub's environment may carry
 * credentials that are none of a service's business.
 */
const KEPT_FROM_HUB = ['PATH', 'LANG', 'LC_ALL', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'VIRTUAL_ENV', 'CONDA_DEFAULT_ENV', 'CONDA_ROOT'];

/**
 * The environment of a hub-managed service: the kept variables, the service's own
 * `environment`, then JupyterHub's variables (config validation refuses JUPYTERHUB_* keys in
 * `environment`, so these always say what the hub means).
 */
export function serviceEnvironment(
  service: ServiceConfig,
  hub: { token: string; apiUrl: string },
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of KEPT_FROM_HUB) {
    const value = from[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    ...service.environment,
    JUPYTERHUB_SERVICE_NAME: service.name,
    JUPYTERHUB_API_TOKEN: hub.token,
    JUPYTERHUB_API_URL: hub.apiUrl,
    JUPYTERHUB_BASE_URL: '/',
  };
}

/**
 * JupyterHub's `JUPYTERHUB_API_URL` for a hub listening at `host`:`port`: plain HTTP straight to
 * the hub (TLS, when there is any, ends in a proxy in front of it), and without a trailing slash,
 * as JupyterHub spells it: clients such as the idle culler append `/users` to it. A hub
 * listening on every interface is reached on loopback: services run on the hub's machine.
 */
export function hubApiUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  const bracketed = reachable.includes(':') && !reachable.startsWith('[') ? `[${reachable}]` : reachable;
  return `http://${bracketed}:${port}/hub/api`;
}
