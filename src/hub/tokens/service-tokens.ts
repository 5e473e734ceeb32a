import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServiceConfig } from '../../config/index.js';

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The tokens of JupyterHub.services: each service authenticates with its configured `api_token`,
 * or, for a hub-managed service without one, with a token the hub makes at start and hands to
 * the process (JUPYTERHUB_API_TOKEN). Made tokens live in memory only: the hub restarts its
 * services with itself, so a new token each start is enough and nothing secret is stored.
 */
export class ServiceTokens {
  private readonly tokens = new Map<string, string>();
  /** Each token's digest, made once: every request with a token is compared against all of them. */
  private readonly digests = new Map<string, Buffer>();

  constructor(services: readonly ServiceConfig[]) {
    for (const s of services) {
      const token = s.api_token ?? randomBytes(32).toString('hex');
      this.tokens.set(s.name, token);
      this.digests.set(s.name, digest(token));
    }
  }

  /** The token to give service `name` (undefined for a name not in JupyterHub.services). */
  tokenFor(name: string): string | undefined {
    return this.tokens.get(name);
  }

  /** The service a token belongs to; compared in constant time over every service. */
  lookup(token: string): string | undefined {
    // A site without services (most) need not hash every request's token for nothing.
    if (this.digests.size === 0) return undefined;
    const given = digest(token);
    let found: string | undefined;
    for (const [name, own] of this.digests) if (timingSafeEqual(given, own)) found = name;
    return found;
  }
}

/** The services helper's entry point: the token service `name` runs with. */
export function serviceTokenFor(tokens: ServiceTokens, name: string): string {
  const token = tokens.tokenFor(name);
  if (token === undefined) throw new Error(`no service named ${JSON.stringify(name)} in JupyterHub.services`);
  return token;
}
