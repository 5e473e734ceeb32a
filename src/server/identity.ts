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

export type ProofCheck = { ok: true; identity: Identity } | { ok: false; status: 401 | 403; text: string };

/**
 * The identity of a request for `target` (the raw target, as signed), or the refusal to answer
 * (logged here): no valid proof, or the hub's own identity (user null) outside the control
 * endpoints, or a user on them. Verifying uses up the proof's nonce: check a request once.
 */
export function checkProof(verifier: ProofVerifier, logger: Logger, req: IncomingMessage, target: string): ProofCheck {
  const result = verifyRequest(verifier, req, target);
  if (!result.ok) {
    logger.warn({ method: req.method, target, reason: result.reason }, 'request refused: no valid proof of identity');
    return { ok: false, status: 401, text: 'Unauthorized' };
  }
  // Only origin-form targets: express would route an absolute-form one (`http://x/_flotilla/…`)
  // by its path, which the prefix test below would not see.
  if (!target.startsWith('/')) {
    logger.warn({ user: result.identity.user, target }, 'request refused: not an origin-form target');
    return { ok: false, status: 403, text: 'Forbidden' };
  }
  const q = target.indexOf('?');
  // Express routes without regard to case, so `/_FLOTILLA/` reaches the control routes too.
  const isControl = (q === -1 ? target : target.slice(0, q)).toLowerCase().startsWith(CONTROL_PREFIX);
  if ((result.identity.user === null) !== isControl) {
    logger.warn({ user: result.identity.user, target }, 'request refused: identity not allowed on this path');
    return { ok: false, status: 403, text: 'Forbidden' };
  }
  return result;
}

/** Express middleware: checkProof for `req.originalUrl`, the identity kept in res.locals. */
export function requireProof(verifier: ProofVerifier, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const check = checkProof(verifier, logger, req, req.originalUrl);
    if (!check.ok) {
      res.status(check.status).type('text/plain').send(check.text);
      return;
    }
    res.locals.identity = check.identity;
    next();
  };
}
