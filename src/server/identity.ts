/**
 * Identity of every request, from the hub's proof and nothing else (see src/identity/proof.ts for
 * the design). A request without a valid proof gets 401 and no other information; the reason is
 * logged here, not told to the client. Identity headers a client might send are never read.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { PROOF_HEADER, type Identity, type ProofVerifier } from '../identity/proof.js';
import type { Logger } from '../util/logger.js';

export const CONTROL_PREFIX = '/_flotilla/';

declare module 'express-serve-static-core' {
  interface Locals {
    identity: Identity;
  }
}

export function verifyRequest(verifier: ProofVerifier, req: IncomingMessage, target: string) {
  return verifier.verify(req.headers[PROOF_HEADER], { method: req.method ?? 'GET', target });
}

/**
 * Express middleware: verifies the proof for `req.originalUrl` (the raw target, as signed), and
 * keeps the hub's own identity (user null) to the control endpoints and users away from them.
 */
export function requireProof(verifier: ProofVerifier, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const result = verifyRequest(verifier, req, req.originalUrl);
    if (!result.ok) {
      logger.warn({ method: req.method, target: req.originalUrl, reason: result.reason }, 'request refused: no valid proof of identity');
      res.status(401).type('text/plain').send('Unauthorized');
      return;
    }
    // Express routes without regard to case, so `/_FLOTILLA/` reaches the control routes too.
    const isControl = req.path.toLowerCase().startsWith(CONTROL_PREFIX);
    if ((result.identity.user === null) !== isControl) {
      logger.warn({ user: result.identity.user, target: req.originalUrl }, 'request refused: identity not allowed on this path');
      res.status(403).type('text/plain').send('Forbidden');
      return;
    }
    res.locals.identity = result.identity;
    next();
  };
}
