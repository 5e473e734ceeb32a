export { HtpasswdFile, type HtpasswdAccounts } from './file.js';
export { AccountExistsError, HtpasswdError } from './errors.js';
export { DEFAULT_COST, MAX_COST, MIN_COST } from './bcrypt.js';
