export { createHub, SESSION_COOKIE, type Hub, type HubOptions } from './create-hub.js';
export { CookieSecretError } from './cookie-secret.js';
export type { HubContext } from './context.js';
