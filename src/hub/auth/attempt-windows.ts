import type { LoginLimit } from '../../config/index.js';
import type { StoredSubject, WindowTable } from './attempt-store.js';

/** One key's window: opened by its first attempt, closed `window_seconds` later. */
export interface AttemptWindow {
  readonly subject: StoredSubject;
  count: number;
  readonly endsAt: number;
}

/**
 * Attempts counted per key in fixed windows. Every method is synchronous, so that a caller can
 * check several tables and take a slot in each without another request slipping in between
 * (Node runs one request's synchronous code at a time).
 *
 * Why not rate-limiter-flexible, which the hub used before: its API is promise-based, so checking
 * three limits and then taking a slot in each leaves gaps where parallel requests interleave
 * (31 parallel sign-ins got 22 password checks through a limit of 5), and it has no way to give
 * back one attempt without resetting a whole counter, which a success needs here.
 */
export class AttemptWindows {
  private readonly windows = new Map<string, AttemptWindow>();

  /** With `stored`, the windows still open there are taken up and every change is written back. */
  constructor(
    readonly limit: LoginLimit,
    private readonly now: () => number = Date.now,
    private readonly stored?: WindowTable,
  ) {
    for (const { key, ...window } of stored?.open(now()) ?? []) this.windows.set(key, window);
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  waitMs(key: string): number {
    const window = this.current(key);
    return window && window.count >= this.limit.attempts ? window.endsAt - this.now() : 0;
  }

  /** Counts one attempt; the window returned is what `giveBack` needs to undo it. */
  take(key: string, subject: StoredSubject): AttemptWindow {
    let window = this.current(key);
    if (!window) {
      window = { subject, count: 0, endsAt: this.now() + this.limit.window_seconds * 1000 };
      this.windows.set(key, window);
    }
    window.count += 1;
    this.stored?.save({ key, ...window });
    return window;
  }

  /** Uncounts one attempt taken in `window`, unless that window has since closed. */
  giveBack(key: string, window: AttemptWindow): void {
    if (this.windows.get(key) !== window || window.endsAt <= this.now()) return;
    window.count -= 1;
    if (window.count <= 0) this.delete(key);
    else this.stored?.save({ key, ...window });
  }

  /** Forgets every open window whose subject matches; how many there were. */
  clear(matches: (subject: StoredSubject) => boolean): number {
    this.sweep();
    let cleared = 0;
    for (const [key, window] of this.windows) {
      if (!matches(window.subject)) continue;
      this.delete(key);
      cleared += 1;
    }
    return cleared;
  }

  delete(key: string): void {
    this.windows.delete(key);
    this.stored?.remove(key);
  }

  /** The open windows that have used up their attempts. */
  full(): AttemptWindow[] {
    return [...this.windows.values()].filter((w) => w.endsAt > this.now() && w.count >= this.limit.attempts);
  }

  /** Drops closed windows, so that memory follows the attempts of the last window only. */
  sweep(): void {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    this.stored?.removeClosed(now);
  }

  private current(key: string): AttemptWindow | undefined {
    const window = this.windows.get(key);
    if (window && window.endsAt <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return window;
  }
}
