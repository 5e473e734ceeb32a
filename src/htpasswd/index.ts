export { HtpasswdFile } from './file.js';
export { HtpasswdError } from './errors.js';
export { DEFAULT_COST, MAX_COST, MIN_COST, MAX_PASSWORD_BYTES, hashPassword, isBcryptHash } from './bcrypt.js';
