import helmet from 'helmet';
import type { OutgoingMessage } from 'node:http';
import type { RequestHandler } from 'express';

/**
 * The security headers of every hub and workflow-server response (helmet): a Content-Security-
 * Policy that runs only scripts served by this origin (no inline script or event-handler
 * attributes) and lets no other page frame ours, X-Frame-Options DENY for older browsers,
 * nosniff, and a same-origin Referrer-Policy so that owner and workflow names in URLs stay here.
 * Styles, too, come only from this origin's stylesheet (no 'unsafe-inline': no <style> element
 * or style attribute), so injected markup cannot restyle a page to mislead, or read it through
 * attribute selectors; scripts set computed sizes (progress bars) through the CSSOM, which the
 * policy allows. Under https, browsers are also told to keep to https (HSTS) and to upgrade any
 * http subresource.
 */
function helmetFor(https: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'font-src': ["'self'"],
        // 'self' covers the page's own ws:/wss: origin for live subscriptions.
        'connect-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        ...(https ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: https ? { maxAge: 31_536_000 } : false,
  });
}

export type HeaderList = readonly (readonly [name: string, value: string])[];

/**
 * The headers helmet sets, worked out once: with these options (no nonces, nothing that depends
 * on the request) they are the same on every response, and helmet would rebuild them, the
 * Content-Security-Policy string included, through a chain of eleven middleware per request.
 */
export function securityHeaderList(https: boolean): HeaderList {
  const set: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string) => void set.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  let finished = false;
  helmetFor(https)({} as Parameters<RequestHandler>[0], recorder as unknown as Parameters<RequestHandler>[1], (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  // helmet runs synchronously; anything else would mean headers this list misses.
  if (!finished) throw new Error('helmet did not finish synchronously');
  return set;
}

/** Sets the security headers on a response (express or plain node). */
export function setSecurityHeaders(res: OutgoingMessage, headers: HeaderList): void {
  for (const [name, value] of headers) res.setHeader(name, value);
  res.removeHeader('X-Powered-By');
}

/** The security headers (from securityHeaderList) as express middleware. */
export function securityHeaders(headers: HeaderList): RequestHandler {
  return (_req, res, next) => {
    setSecurityHeaders(res, headers);
    next();
  };
}
