/** A problem with an htpasswd file or a request on it; messages never carry a password. */
export class HtpasswdError extends Error {
  override name = 'HtpasswdError';
}

/** Adding a user who is in the file already when replacing was not asked for: the hash stays. */
export class AccountExistsError extends HtpasswdError {
  override name = 'AccountExistsError';
}
