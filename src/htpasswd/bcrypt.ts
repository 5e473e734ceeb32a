import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { HtpasswdError } from './errors.js';

export const DEFAULT_COST = 12;
/** The range Apache's `htpasswd -B -C` accepts. */
export const MIN_COST = 4;
export const MAX_COST = 17;
/** bcrypt reads only this many bytes of a password; longer ones would be silently cut. */
const MAX_PASSWORD_BYTES = 72;

/** A complete bcrypt hash: `$2y$`, two digits of cost, `$`, 53 characters of salt and hash. */
export const BCRYPT_HASH_SHAPE = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

function isBcryptHash(hash: string): boolean {
  return BCRYPT_HASH_SHAPE.test(hash);
}

export function costOf(hash: string): number | undefined {
  const match = BCRYPT_HASH_SHAPE.exec(hash);
  return match ? Number(match[1]) : undefined;
}

function checkCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST) {
    throw new HtpasswdError(`bcrypt cost must be a whole number from ${MIN_COST} to ${MAX_COST}, got ${String(cost)}`);
  }
}

function checkPassword(password: string): void {
  if (password === '') throw new HtpasswdError('the password is empty');
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new HtpasswdError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes, which bcrypt would silently cut`);
  }
}

/** Hashes in Apache's spelling, `$2y$`: the same algorithm as `$2b$`, which bcryptjs writes. */
export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  checkCost(cost);
  checkPassword(password);
  const hash = await bcrypt.hash(password, cost);
  return `$2y$${hash.slice(4)}`;
}

/** True only on a match; any odd hash or internal error is a plain false. */
export async function comparePassword(password: string, hash: string): Promise<boolean> {
  if (!isBcryptHash(hash)) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

const decoys = new Map<number, Promise<string>>();

/** A hash of a random secret at the given cost, so that checking an unknown user costs the same. */
export function decoyHash(cost: number): Promise<string> {
  let decoy = decoys.get(cost);
  if (decoy === undefined) {
    decoy = bcrypt.hash(randomBytes(18).toString('base64'), cost);
    decoys.set(cost, decoy);
  }
  return decoy;
}
