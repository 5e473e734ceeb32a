import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../src/hub/auth/address-key.js';
import { LoginAttemptStore } from '../../src/hub/auth/attempt-store.js';
import { LoginLimiter, type SignInAttempt } from '../../src/hub/auth/login-limiter.js';
import { openHubDatabase, type HubDatabase } from '../../src/hub/db.js';

const LIMITS = {
  per_user_address: { attempts: 3, window_seconds: 60 },
  per_address: { attempts: 5, window_seconds: 120 },
  per_user: { attempts: 4, window_seconds: 300 },
};

/** A limiter on a clock the test moves by hand; with `db`, its counters are kept there. */
function limiterAt(start = 1_000_000, db?: HubDatabase) {
  const clock = { now: start };
  const limiter = new LoginLimiter(LIMITS, () => clock.now, db && new LoginAttemptStore(db));
  return { limiter, clock };
}

function allowed(attempt: SignInAttempt): Extract<SignInAttempt, { allowed: true }> {
  if (!attempt.allowed) throw new Error(`refused, retry after ${attempt.retryAfterSeconds} s`);
  return attempt;
}

describe('LoginLimiter', () => {
  it('reopens a name at an address when its window ends, and says how long until then', () => {
    const { limiter, clock } = limiterAt();
    for (let i = 0; i < 3; i++) allowed(limiter.begin('dave', '10.0.0.1'));
    clock.now += 20_500;
    const refused = limiter.begin('dave', '10.0.0.1');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 40 });
    expect(limiter.lockouts()).toEqual([{ limit: 'per_user_address', name: 'dave', address: '10.0.0.1', attempts: 3, until: new Date(1_060_000) }]);
    clock.now = 1_060_000;
    expect(limiter.begin('dave', '10.0.0.1').allowed).toBe(true);
    // That was the fourth attempt for the name within its five minutes: its own limit now.
    expect(limiter.lockouts().map((l) => l.limit)).toEqual(['per_user']);
  });

  it('counts names without regard to case and IPv4-mapped addresses as IPv4', () => {
    const { limiter } = limiterAt();
    allowed(limiter.begin('Dave', '::ffff:10.0.0.1'));
    allowed(limiter.begin('DAVE', '10.0.0.1'));
    allowed(limiter.begin('dave', '::FFFF:10.0.0.1'));
    expect(limiter.begin('dave', '10.0.0.1').allowed).toBe(false);
  });

  it('takes back only the attempt that succeeded from the address and the name', () => {
    const { limiter } = limiterAt();
    allowed(limiter.begin('x', '10.0.0.1'));
    allowed(limiter.begin('y', '10.0.0.1'));
    allowed(limiter.begin('z', '10.0.0.1'));
    allowed(limiter.begin('w', '10.0.0.1'));
    allowed(limiter.begin('me', '10.0.0.1')).succeeded();
    allowed(limiter.begin('me', '10.0.0.1')).succeeded();
    // Four failures and any number of successes: one attempt left for the address.
    allowed(limiter.begin('v', '10.0.0.1'));
    expect(limiter.begin('me', '10.0.0.1').allowed).toBe(false);
    expect(limiter.lockouts().map((l) => l.limit)).toEqual(['per_address']);
  });

  it('clears the counter of the name at the address on success, failures from elsewhere stay', () => {
    const { limiter } = limiterAt();
    allowed(limiter.begin('dave', '10.0.0.2'));
    allowed(limiter.begin('dave', '10.0.0.1'));
    allowed(limiter.begin('dave', '10.0.0.1'));
    allowed(limiter.begin('dave', '10.0.0.1')).succeeded();
    // The count of the name at 10.0.0.1 starts again; the name as a whole had used 3 of its 4.
    allowed(limiter.begin('dave', '10.0.0.1'));
    expect(limiter.begin('dave', '10.0.0.3')).toEqual({ allowed: false, retryAfterSeconds: 300 });
  });

  it('does not take back a success from a window that has closed since it began', () => {
    const { limiter, clock } = limiterAt();
    const slow = allowed(limiter.begin('dave', '10.0.0.1'));
    clock.now += 300_000;
    for (let i = 0; i < 4; i++) allowed(limiter.begin('dave', `10.0.1.${i}`));
    slow.succeeded();
    expect(limiter.begin('dave', '10.0.2.1').allowed).toBe(false);
  });

  it('clears a name everywhere, or an address for every name, and says whether anything was counted', () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 3; i++) allowed(limiter.begin('dave', '10.0.0.1'));
    allowed(limiter.begin('erin', '10.0.0.1'));
    allowed(limiter.begin('dave', '10.0.0.2'));
    expect(limiter.clearName('Dave')).toBe(3);
    expect(limiter.clearName('dave')).toBe(0);
    allowed(limiter.begin('dave', '10.0.0.1'));
    expect(limiter.lockouts().map((l) => l.limit)).toEqual(['per_address']);
    expect(limiter.begin('erin', '10.0.0.1').allowed).toBe(false);
    // The address, and the counts of erin and dave at it.
    expect(limiter.clearAddress('::ffff:10.0.0.1')).toBe(3);
    expect(limiter.lockouts()).toEqual([]);
    allowed(limiter.begin('erin', '10.0.0.1'));
  });

  it('counts every IPv6 address of one /64 network as one address', () => {
    const { limiter } = limiterAt();
    for (let i = 1; i <= 5; i++) allowed(limiter.begin(`name${i}`, `2001:db8:0:7::${i}`));
    expect(limiter.begin('alice', '2001:db8:0:7:ffff:ffff:ffff:ffff').allowed).toBe(false);
    expect(limiter.begin('alice', '2001:db8:0:8::1').allowed).toBe(true);
    expect(limiter.lockouts()).toEqual([expect.objectContaining({ limit: 'per_address', address: '2001:db8:0:7::/64' })]);
    expect(limiter.clearAddress('2001:db8:0:7::/64')).toBe(6);
  });
});

describe('addressKey', () => {
  it('keeps IPv4, unmaps IPv4-mapped IPv6, and reduces IPv6 to its /64', () => {
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:DB8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:db8:a:b:c:d:e:f')).toBe('2001:db8:a:b::/64');
    expect(addressKey('2001:db8:a:b::/64')).toBe('2001:db8:a:b::/64');
    expect(addressKey('2001:0db8:000a:000b::1')).toBe('2001:db8:a:b::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('::192.0.2.1')).toBe('0:0:0:0::/64');
  });

  it('is undefined for anything that is not an address', () => {
    for (const text of ['', 'unknown', '10.0.0', '10.0.0.1/24', '2001:db8::/48', '2001:db8::1/64/64', 'dave']) expect([text, addressKey(text)]).toEqual([text, undefined]);
  });

  it('keeps its counters in the hub database: a restarted hub refuses what the last one refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-limiter-'));
    try {
      const db = openHubDatabase(dir);
      const before = limiterAt(1_000_000, db);
      for (let i = 0; i < 3; i++) allowed(before.limiter.begin('dave', '10.0.0.1'));
      allowed(before.limiter.begin('erin', '10.0.0.2')).succeeded();
      db.close();

      // A new hub process: a new database connection and a new limiter, ten seconds later.
      const again = openHubDatabase(dir);
      const after = limiterAt(1_010_000, again);
      expect(after.limiter.begin('dave', '10.0.0.1')).toEqual({ allowed: false, retryAfterSeconds: 50 });
      expect(after.limiter.lockouts()).toEqual([{ limit: 'per_user_address', name: 'dave', address: '10.0.0.1', attempts: 3, until: new Date(1_060_000) }]);
      // A success took its own attempts back: nothing of erin's is left to refuse her.
      expect(after.limiter.begin('erin', '10.0.0.2').allowed).toBe(true);
      // Clearing is kept too.
      expect(after.limiter.clearName('dave')).toBe(2);
      again.close();
      const third = openHubDatabase(dir);
      expect(limiterAt(1_011_000, third).limiter.begin('dave', '10.0.0.1').allowed).toBe(true);
      third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the counters of one attempt together: when one write fails, none of them is kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-limiter-'));
    try {
      const db = openHubDatabase(dir);
      const { limiter } = limiterAt(1_000_000, db);
      // The per-name counter is written last; the database refuses it as a full disk would.
      db.exec("CREATE TEMP TRIGGER refuse BEFORE INSERT ON login_attempts WHEN NEW.kind = 'per_user' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
      expect(() => limiter.begin('dave', '10.0.0.1')).toThrow(/disk is full/);
      expect(db.prepare('SELECT kind FROM login_attempts').all()).toEqual([]);
      db.exec('DROP TRIGGER refuse');
      allowed(limiter.begin('erin', '10.0.0.2')).succeeded();
      expect(db.prepare('SELECT kind, count FROM login_attempts ORDER BY kind').all()).toEqual([]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
