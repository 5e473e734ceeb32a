/** A problem with an htpasswd file or a request on it; messages never carry a password. */
export class HtpasswdError extends Error {
  override name = 'HtpasswdError';
}
