/**
 * Proof of identity: how a workflow server knows that a request really comes through the hub,
 * on behalf of whom.
 *
 * Design
 * - At spawn, the hub gives each workflow server its own random secret (32 bytes, through the
 *   environment, never argv). Only the hub and that one server know it.
 * - For every request it forwards, the hub adds one header, `X-Flotilla-Proof`, holding
 *   `base64url(payload) "." base64url(HMAC-SHA256(secret, DOMAIN + base64url(payload)))`.
 *   The payload names the access user and their groups, the owner and the owner's groups, the
 *   HTTP method and the request target (path and query), when it was made and when it expires,
 *   and a nonce used once.
 * - The server verifies the MAC in constant time, then checks that the method and target match
 *   the request it is answering (so a proof cannot be moved to another URL), that it has not
 *   expired (validity is short: PROOF_TTL_MS), and that its nonce has not been seen before (so a
 *   proof captured on loopback cannot be replayed, even within its validity).
 * - Identity headers sent by clients are never read: the hub strips every `x-flotilla-*` header
 *   from incoming requests before adding its own, and the server reads identity only from a
 *   verified proof.
 * - `sub: null` marks the hub itself (health checks, membership pushes), which may use only the
 *   server's `/_flotilla/` control endpoints.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isOperation, type Operation } from '../authz/index.js';

export const PROOF_HEADER = 'x-flotilla-proof';
export const PROOF_TTL_MS = 30_000;
/** Tolerated clock difference between hub and server (same machine, so small). */
const CLOCK_SKEW_MS = 2_000;
const DOMAIN = 'flotilla-proof-v1.';

export interface Identity {
  /** The access user, or null for the hub itself. */
  user: string | null;
  groups: string[];
  owner: string;
  ownerGroups: string[];
  /** The hub session's XSRF token when the request was authenticated by cookie, so that the
   * server's pages can embed it; absent for token-authenticated requests. */
  xsrf?: string;
  /** How the hub authenticated the user: a browser session cookie or an API token. */
  via: 'cookie' | 'token' | 'hub';
  /** The most the request may do, from a scoped token's `custom:workflows:*` scopes; the server
   * intersects the user's permitted operations with it. Absent: no ceiling. */
  ceiling?: Operation[];
}

interface Payload {
  v: 1;
  sub: string | null;
  grp: string[];
  own: string;
  ogrp: string[];
  m: string;
  p: string;
  iat: number;
  exp: number;
  n: string;
  x?: string;
  via: Identity['via'];
  ceil?: string[];
}

export function newServerSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Nonces are unique, not secret: the MAC makes a proof unforgeable, the nonce only makes each one
 * single-use. A random prefix drawn once per process and a counter are unique without a random
 * draw per request, and a restarted hub draws a new prefix.
 */
const NONCE_PREFIX = randomBytes(12).toString('base64url');
let noncesMade = 0;

function nextNonce(): string {
  noncesMade += 1;
  return NONCE_PREFIX + noncesMade.toString(36);
}

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(DOMAIN + body).digest();
}

export function signProof(
  secret: string,
  identity: Identity,
  request: { method: string; target: string },
  now: number = Date.now(),
): string {
  const payload: Payload = {
    v: 1,
    sub: identity.user,
    grp: [...identity.groups],
    own: identity.owner,
    ogrp: [...identity.ownerGroups],
    m: request.method.toUpperCase(),
    p: request.target,
    iat: now,
    exp: now + PROOF_TTL_MS,
    n: nextNonce(),
    via: identity.via,
    ...(identity.xsrf ? { x: identity.xsrf } : {}),
    ...(identity.ceiling ? { ceil: [...identity.ceiling] } : {}),
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

export type ProofResult = { ok: true; identity: Identity } | { ok: false; reason: string };

/**
 * Remembers nonces of accepted proofs until they expire. Bounded: when full, it refuses new
 * proofs (fail closed) rather than forgetting nonces that could then be replayed.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly capacity = 200_000) {}

  /** Records the nonce; false if it was already used or the cache cannot take it. */
  claim(nonce: string, expiresAt: number, now: number): boolean {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.capacity) this.sweep(now);
    if (this.seen.size >= this.capacity) return false;
    this.seen.set(nonce, expiresAt);
    return true;
  }

  sweep(now: number): void {
    for (const [nonce, exp] of this.seen) if (exp < now) this.seen.delete(nonce);
  }

  get size(): number {
    return this.seen.size;
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

export class ProofVerifier {
  private readonly nonces = new NonceCache();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly secret: string,
    private readonly owner: string,
  ) {
    if (!secret || secret.length < 16) throw new Error('proof secret is missing or too short');
    this.sweeper = setInterval(() => this.nonces.sweep(Date.now()), PROOF_TTL_MS).unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Verifies a proof header for the request being answered. Any doubt is a refusal. */
  verify(
    header: string | string[] | undefined,
    request: { method: string; target: string },
    now: number = Date.now(),
  ): ProofResult {
    try {
      if (typeof header !== 'string' || header.length === 0) return { ok: false, reason: 'no proof of identity' };
      if (header.length > 16_384) return { ok: false, reason: 'proof too large' };
      const dot = header.indexOf('.');
      if (dot <= 0 || dot !== header.lastIndexOf('.')) return { ok: false, reason: 'malformed proof' };
      const body = header.slice(0, dot);
      const given = Buffer.from(header.slice(dot + 1), 'base64url');
      const expected = mac(this.secret, body);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { ok: false, reason: 'proof signature does not verify' };
      }
      const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<Payload>;
      if (p.v !== 1) return { ok: false, reason: 'unknown proof version' };
      if (!(p.sub === null || typeof p.sub === 'string') || !isStringArray(p.grp) || !isStringArray(p.ogrp)) {
        return { ok: false, reason: 'malformed proof' };
      }
      if (p.own !== this.owner) return { ok: false, reason: 'proof is for another server' };
      if (p.m !== request.method.toUpperCase() || p.p !== request.target) {
        return { ok: false, reason: 'proof is for another request' };
      }
      if (typeof p.iat !== 'number' || typeof p.exp !== 'number' || p.exp - p.iat > PROOF_TTL_MS) {
        return { ok: false, reason: 'malformed proof' };
      }
      if (p.iat > now + CLOCK_SKEW_MS || p.exp < now) return { ok: false, reason: 'proof expired' };
      if (typeof p.n !== 'string' || p.n.length < 16) return { ok: false, reason: 'malformed proof' };
      if (p.via !== 'cookie' && p.via !== 'token' && p.via !== 'hub') return { ok: false, reason: 'malformed proof' };
      if ((p.sub === null) !== (p.via === 'hub')) return { ok: false, reason: 'malformed proof' };
      if (p.ceil !== undefined && !(isStringArray(p.ceil) && p.ceil.every(isOperation))) return { ok: false, reason: 'malformed proof' };
      if (!this.nonces.claim(p.n, p.exp, now)) return { ok: false, reason: 'proof already used' };
      return {
        ok: true,
        identity: {
          user: p.sub,
          groups: p.grp,
          owner: p.own,
          ownerGroups: p.ogrp,
          via: p.via,
          ...(typeof p.x === 'string' ? { xsrf: p.x } : {}),
          ...(p.ceil !== undefined ? { ceiling: p.ceil as Operation[] } : {}),
        },
      };
    } catch {
      return { ok: false, reason: 'malformed proof' };
    }
  }
}
