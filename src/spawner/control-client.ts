import { request } from 'node:http';
import type { Membership, SiteSettings } from '../identity/launch.js';
import { PROOF_HEADER, signProof, type Identity } from '../identity/proof.js';

/** The hub speaking for itself (`user: null`), allowed only on a server's `/_flotilla/` endpoints. */
function hubIdentity(owner: string): Identity {
  return { user: null, groups: [], owner, ownerGroups: [], via: 'hub' };
}

export interface ControlTarget {
  owner: string;
  port: number;
  secret: string;
}

interface Reply {
  status: number;
  body: string;
}

/** One signed request to a server's control endpoint, bounded by `timeoutMs` from start to end. */
function controlRequest(
  target: ControlTarget,
  method: 'GET' | 'PUT',
  path: string,
  timeoutMs: number,
  body?: unknown,
): Promise<Reply> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        method,
        path,
        agent: false,
        headers: {
          [PROOF_HEADER]: signProof(target.secret, hubIdentity(target.owner), { method, target: path }),
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Asks a server whether it is up and is who we think it is: the answer must name the expected
 * owner and, when given, the expected pid (so a reused port or pid is not mistaken for ours).
 * Never throws: any failure is a reason string.
 */
export async function checkHealth(
  target: ControlTarget,
  timeoutMs: number,
  expectedPid?: number,
): Promise<{ ok: true; pid: number } | { ok: false; reason: string }> {
  try {
    const reply = await controlRequest(target, 'GET', '/_flotilla/health', timeoutMs);
    if (reply.status !== 200) return { ok: false, reason: `health answered HTTP ${reply.status}` };
    const parsed = JSON.parse(reply.body) as { status?: unknown; owner?: unknown; pid?: unknown };
    if (parsed.status !== 'ok') return { ok: false, reason: 'health status is not ok' };
    if (parsed.owner !== target.owner) return { ok: false, reason: `health names another owner` };
    if (typeof parsed.pid !== 'number') return { ok: false, reason: 'health gives no pid' };
    if (expectedPid !== undefined && parsed.pid !== expectedPid) {
      return { ok: false, reason: `health names pid ${parsed.pid}, expected ${expectedPid}` };
    }
    return { ok: true, pid: parsed.pid };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

async function put(target: ControlTarget, what: string, path: string, body: unknown, timeoutMs: number): Promise<void> {
  const reply = await controlRequest(target, 'PUT', path, timeoutMs, body);
  if (reply.status < 200 || reply.status >= 300) {
    throw new Error(`${what} push answered HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
  }
}

export function putMembership(target: ControlTarget, groups: Membership, accounts: readonly string[] | undefined, timeoutMs: number): Promise<void> {
  return put(target, 'membership', '/_flotilla/membership', { groups, accounts }, timeoutMs);
}

export function putSite(target: ControlTarget, site: SiteSettings, timeoutMs: number): Promise<void> {
  return put(target, 'site settings', '/_flotilla/site', site, timeoutMs);
}
