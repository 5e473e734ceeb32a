import type { LoginLimits } from '../../config/index.js';
import { addressKey } from './address-key.js';
import type { LoginAttemptStore, StoredSubject as Subject } from './attempt-store.js';
import { AttemptWindows, type AttemptWindow } from './attempt-windows.js';

export type LimitKind = keyof LoginLimits;

/** A counter that has used up its attempts, as the admin page and API show it. */
export interface Lockout {
  limit: LimitKind;
  name: string | null;
  address: string | null;
  attempts: number;
  until: Date;
}

export type SignInAttempt =
  /** Counted; call succeeded() when the password was right. A failure needs nothing more. */
  | { allowed: true; succeeded(): void }
  | { allowed: false; retryAfterSeconds: number };

const SWEEP_EVERY_MS = 60_000;

/**
 * Sign-in attempts, counted before the password is checked, per (name, address), per address,
 * and per name across every address (a higher limit, so that one address cannot refuse a name
 * everywhere but guesses spread over many addresses are still slowed). A success clears its
 * (name, address) counter and takes back only its own attempt from the other two, so signing
 * in to one's own account never resets the failures counted against an address or a name.
 */
export class LoginLimiter {
  private readonly tables: Record<LimitKind, AttemptWindows>;
  private lastSweep: number;
  /** Runs the writes of one attempt (or its success) together: a crash keeps all or none of them. */
  private readonly together: <T>(fn: () => T) => T;

  /** With `store`, counters outlive the hub process (see attempt-store.ts). */
  constructor(
    limits: LoginLimits,
    private readonly now: () => number = Date.now,
    store?: LoginAttemptStore,
  ) {
    const table = (kind: LimitKind) => new AttemptWindows(limits[kind], now, store?.table(kind));
    this.tables = { per_user_address: table('per_user_address'), per_address: table('per_address'), per_user: table('per_user') };
    this.together = store ? (fn) => store.transaction(fn) : (fn) => fn();
    this.lastSweep = now();
  }

  /** Counts an attempt for `user` from `address`, or refuses it if any of its counters is full. */
  begin(user: string, address: string): SignInAttempt {
    this.sweepNow();
    const name = user.toLowerCase();
    // A socket always has an address; should one ever lack it, all such attempts count as one.
    const addr = addressKey(address) ?? 'unknown';
    // The address comes first and holds no space, so the pair key cannot be read two ways.
    const counters: [LimitKind, string, Subject][] = [
      ['per_user_address', `${addr} ${name}`, { name, address: addr }],
      ['per_address', addr, { name: null, address: addr }],
      ['per_user', name, { name, address: null }],
    ];
    const waitMs = Math.max(...counters.map(([kind, key]) => this.tables[kind].waitMs(key)));
    if (waitMs > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    const taken = this.together(() =>
      counters.map(([kind, key, subject]): [LimitKind, string, AttemptWindow] => [kind, key, this.tables[kind].take(key, subject)]));
    return {
      allowed: true,
      succeeded: () =>
        this.together(() => {
          for (const [kind, key, window] of taken) {
            if (kind === 'per_user_address') this.tables[kind].delete(key);
            else this.tables[kind].giveBack(key, window);
          }
        }),
    };
  }

  /** Every counter that is refusing attempts now, soonest to reopen first. */
  lockouts(): Lockout[] {
    const all = (Object.keys(this.tables) as LimitKind[]).flatMap((limit) =>
      this.tables[limit].full().map((w) => ({ limit, ...w.subject, attempts: w.count, until: new Date(w.endsAt) })),
    );
    return all.sort((a, b) => a.until.getTime() - b.until.getTime());
  }

  /** Forgets the attempts counted for a name (from every address); how many counters were open. */
  clearName(user: string): number {
    const name = user.toLowerCase();
    return this.tables.per_user.clear((s) => s.name === name) + this.tables.per_user_address.clear((s) => s.name === name);
  }

  /** Forgets the attempts counted for an address or IPv6 /64 (for every name); how many counters were open. */
  clearAddress(address: string): number {
    const addr = addressKey(address);
    if (!addr) return 0;
    return this.tables.per_address.clear((s) => s.address === addr) + this.tables.per_user_address.clear((s) => s.address === addr);
  }

  private sweepNow(): void {
    if (this.now() - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = this.now();
    for (const table of Object.values(this.tables)) table.sweep();
  }
}
