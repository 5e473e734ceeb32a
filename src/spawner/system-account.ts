import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** The operating-system account a workflow server runs as under an isolating mode. */
export interface SystemAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export class SystemAccountError extends Error {
  override name = 'SystemAccountError';
}

/** getent exits 2 when the key is not in the database. */
const GETENT_NOT_FOUND = 2;
const GETENT_TIMEOUT_MS = 10_000;

/**
 * Looks the account up through getent, so accounts from NSS (LDAP, SSSD) count as well as
 * /etc/passwd. Fails closed: no account, or one with uid or gid 0, is an error, never root.
 */
export function lookupSystemAccount(name: string): Promise<SystemAccount> {
  return new Promise((resolve, reject) => {
    execFile('getent', ['passwd', name], { timeout: GETENT_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      if (err) {
        // A non-zero exit puts the exit code here; a failure to run getent puts a string.
        const code: unknown = (err as { code?: unknown }).code;
        reject(
          new SystemAccountError(
            code === GETENT_NOT_FOUND
              ? `no system account named "${name}"; isolation "system" needs one per owner`
              : `could not look up the system account "${name}" with getent: ${err.message}`,
          ),
        );
        return;
      }
      try {
        resolve(parsePasswdLine(name, stdout));
      } catch (parseErr) {
        reject(parseErr);
      }
    });
  });
}

function parsePasswdLine(name: string, text: string): SystemAccount {
  // getent may match a numeric key as a uid; only a line for exactly this name counts.
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  if (!line) throw new SystemAccountError(`no system account named "${name}"; isolation "system" needs one per owner`);
  const fields = line.split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  const home = fields[5] ?? '';
  if (fields.length < 7 || !Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0 || !home.startsWith('/')) {
    throw new SystemAccountError(`the system account "${name}" has an unreadable passwd entry: ${JSON.stringify(line)}`);
  }
  if (uid === 0 || gid === 0) {
    throw new SystemAccountError(
      `the system account "${name}" has ${uid === 0 ? 'uid' : 'gid'} 0; isolation "system" never runs a workflow server as root`,
    );
  }
  return { name, uid, gid, home };
}

/** The real and effective uid of a live process, from /proc/PID/status; undefined if it is gone. */
export async function processUids(pid: number): Promise<{ real: number; effective: number } | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  return match ? { real: Number(match[1]), effective: Number(match[2]) } : undefined;
}
