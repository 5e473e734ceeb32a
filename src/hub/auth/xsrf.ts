import { csrfSync } from 'csrf-sync';
import type { Request } from 'express';

/**
 * XSRF protection for cookie-authenticated requests that change state. The token lives in the
 * session; clients send it as the form field `_xsrf` or the header `X-XSRFToken`. Requests
 * authenticated by API token are exempt: a browser never adds that header by itself.
 */
export function createXsrf() {
  return csrfSync({
    size: 32,
    getTokenFromRequest: (req: Request) => {
      const header = req.headers['x-xsrftoken'];
      if (typeof header === 'string') return header;
      const field = (req.body as Record<string, unknown> | undefined)?._xsrf;
      return typeof field === 'string' ? field : undefined;
    },
    skipCsrfProtection: (req: Request) => req.caller?.via === 'token' || req.service !== undefined,
    errorConfig: {
      statusCode: 403,
      message: 'missing or wrong XSRF token: send the _xsrf form field or the X-XSRFToken header from this page',
      code: 'EBADCSRFTOKEN',
    },
  });
}

export type Xsrf = ReturnType<typeof createXsrf>;
