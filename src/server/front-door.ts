import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity, ProofVerifier } from '../identity/proof.js';
import type { Logger } from '../util/logger.js';
import { setSecurityHeaders, type HeaderList } from '../util/security-headers.js';
import { sendJson } from '../util/send-json.js';
import { checkProof } from './identity.js';
import type { Answer } from './quick-answers.js';

export interface FrontDoorOptions {
  /** The identity part's logger (refusals are logged as requireProof logs them). */
  logger: Logger;
  verifier: ProofVerifier;
  /** The security headers every response carries. */
  headers: HeaderList;
  /** Exact request targets answered here for a plain GET, each with its answer (quick-answers.ts). */
  answers: ReadonlyMap<string, (identity: Identity) => Answer>;
}

/**
 * The workflow server's HTTP entry, ahead of express, for the requests asked for most: a plain
 * `GET` of `api/userprofile` (scripts and support tools poll it) and of the hub's health check.
 * They are checked exactly as express's stack checks them (security headers, the proof, the
 * identity allowed on this path) and answered with the same body, without the dozen middleware
 * and router layers in between; and an idle server, which sees little else, need not load
 * express at all. Everything else goes to `rest` untouched, its proof not yet verified
 * (verifying uses up the nonce).
 */
export function serverFrontDoor(opts: FrontDoorOptions, rest: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '';
    const answer = req.method === 'GET' ? opts.answers.get(target) : undefined;
    if (!answer) return rest(req, res);
    setSecurityHeaders(res, opts.headers);
    const check = checkProof(opts.verifier, opts.logger, req, target);
    if (!check.ok) {
      res.writeHead(check.status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(check.text) }).end(check.text);
      return;
    }
    const { status, body } = answer(check.identity);
    sendJson(res, status, body);
  };
}
