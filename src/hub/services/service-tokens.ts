import { randomBytes } from 'node:crypto';
import type { ServiceConfig } from '../../config/index.js';

/**
 * The API token of each service: its configured `api_token`, or for a hub-managed service
 * without one, a token made at hub start and kept in memory only. Such a token lives exactly as
 * long as the process that handed it out: a restarted hub makes a new one and starts the service
 * again with it, so there is nothing to store, rotate or leak from the database.
 */
export class ServiceTokens {
  private readonly tokens = new Map<string, string>();

  constructor(services: readonly ServiceConfig[]) {
    for (const service of services) {
      // Same shape as the tokens users create (token-store.ts), so logs and scrubbers treat it alike.
      this.tokens.set(service.name, service.api_token ?? `flt_${randomBytes(32).toString('base64url')}`);
    }
  }

  /** The token of the service `name`; throws for a name that is not a configured service. */
  serviceTokenFor(name: string): string {
    const token = this.tokens.get(name);
    if (token === undefined) throw new Error(`no service named ${JSON.stringify(name)} in JupyterHub.services`);
    return token;
  }
}
