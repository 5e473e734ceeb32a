import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity, ProofVerifier } from '../identity/proof.js';
import type { Logger } from '../util/logger.js';
import { setSecurityHeaders, type HeaderList } from '../util/security-headers.js';
import { sendJson } from '../util/send-json.js';
import { checkProof } from './identity.js';

export interface FrontDoorOptions {
  /** `/user/OWNER/` */
  base: string;
  verifier: ProofVerifier;
  /** The identity part's logger (refusals are logged as requireProof logs them). */
  logger: Logger;
  /** The security headers every response carries. */
  headers: HeaderList;
  /** api/userprofile's answer for an identity with a valid proof (api-routes.ts's userProfile). */
  profile: (identity: Identity) => { status: number; body: object };
}


/**
 * The workflow server's HTTP entry, ahead of express, for the request that scripts and support
 * tools poll most: a plain `GET api/userprofile`. It is checked exactly as express's stack checks
 * it (security headers, the proof, the identity allowed on this path) and answered with the same
 * body, without the dozen middleware and router layers in between. Everything else goes to
 * express untouched, its proof not yet verified (verifying uses up the nonce).
 */
export function serverFrontDoor(opts: FrontDoorOptions, express: (req: IncomingMessage, res: ServerResponse) => void) {
  const profilePath = `${opts.base}api/userprofile`;
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' || req.url !== profilePath) return express(req, res);
    setSecurityHeaders(res, opts.headers);
    const check = checkProof(opts.verifier, opts.logger, req, profilePath);
    if (!check.ok) {
      res.writeHead(check.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(check.text) }).end(check.text);
      return;
    }
    const { status, body } = opts.profile(check.identity);
    sendJson(res, status, body);
  };
}
