import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * The security headers of every hub and workflow-server response (helmet): a Content-Security-
 * Policy that runs only scripts served by this origin (no inline script or event-handler
 * attributes) and lets no other page frame ours, X-Frame-Options DENY for older browsers,
 * nosniff, and a same-origin Referrer-Policy so that owner and workflow names in URLs stay here.
 * Style attributes remain allowed ('unsafe-inline' in style-src): the pages and their scripts
 * size progress bars and columns with them, and styles cannot run code. Under https, browsers
 * are also told to keep to https (HSTS) and to upgrade any http subresource.
 */
export function securityHeaders(https: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", "'unsafe-inline'"],
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
