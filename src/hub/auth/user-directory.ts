import { EventEmitter } from 'node:events';
import { DEFAULT_COST, HtpasswdError, HtpasswdFile, type HtpasswdAccounts } from '../../htpasswd/index.js';
import { SignInRule, type AccountRules } from './sign-in-rule.js';
import type { Logger } from '../../util/logger.js';

const REFRESH_EVERY_MS = 2_000;

/**
 * Who has an account on this hub: the names in the htpasswd file that `allowed_users` lets in
 * (all of them when it is empty) and `blocked_users` does not. Kept in memory and refreshed on a
 * timer so that request handling never touches the disk; emits 'change' when the set changes.
 */
export class UserDirectory extends EventEmitter {
  private names: ReadonlySet<string> = new Set();
  private cleanRead = false;
  private readonly rule: SignInRule;
  private readonly admins: ReadonlySet<string>;
  private readonly timer: NodeJS.Timeout;
  /** The problems last logged, so that each change is logged once, not every refresh. */
  private reportedProblems = '';

  constructor(
    private readonly file: HtpasswdFile,
    rules: AccountRules,
    private readonly logger: Logger,
  ) {
    super();
    this.rule = new SignInRule(rules);
    this.admins = new Set(rules.admin_users);
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_EVERY_MS);
    this.timer.unref();
  }

  /**
   * Re-reads the htpasswd file (cheap when it has not changed). Bad lines are logged, each with
   * its file and line, once per change, and take only their own account away; a file that
   * cannot be read at all keeps the last good set.
   */
  refresh(): void {
    let accounts: HtpasswdAccounts;
    try {
      accounts = this.file.accounts();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'cannot read the htpasswd file; keeping the previous accounts');
      return;
    }
    const { hashes, problems } = accounts;
    // A file with bad lines may be half-written (rewritten in place): it can sign people in,
    // but it is no evidence that an account is gone, so nothing is deleted on its word.
    this.cleanRead = problems.length === 0;
    const reported = problems.join('\n');
    if (reported !== this.reportedProblems) {
      this.reportedProblems = reported;
      for (const problem of problems) this.logger.error({ problem }, `htpasswd: ${problem}; that line signs no one in, the other accounts work`);
    }
    const next = new Set<string>();
    for (const name of hashes.keys()) if (this.rule.admits(name)) next.add(name);
    const changed = next.size !== this.names.size || [...next].some((n) => !this.names.has(n));
    this.names = next;
    if (changed) this.emit('change');
  }

  /**
   * Adds an account to the htpasswd file the way `flotilla passwd add` does (same name rule,
   * bcrypt cost and atomic write), then reads the file again so that the account exists at once.
   * Refuses a name the site configuration would keep out (the entry would sign no one in) and,
   * with an AccountExistsError, a name the file has already (its password is not replaced).
   */
  async addAccount(name: string, password: string): Promise<void> {
    const refusal = this.rule.refusal(name);
    if (refusal !== undefined) throw new HtpasswdError(`${refusal}: an account would sign no one in`);
    await this.file.add(name, password, DEFAULT_COST, { replace: false });
    this.refresh();
  }

  /**
   * Removes the account from the htpasswd file, then reads the file again. What the account
   * left behind (sessions, tokens, server) is the caller's to clear. False when the file has no
   * such entry.
   */
  removeAccount(name: string): boolean {
    if (!this.file.remove(name)) return false;
    this.refresh();
    return true;
  }

  /** Whether the account list comes from a read of the file with no bad line: only then may the
   * hub treat a name missing from it as an account that is gone (and delete its tokens). */
  get loaded(): boolean {
    return this.cleanRead;
  }

  exists(name: string): boolean {
    return this.names.has(name);
  }

  isAdmin(name: string): boolean {
    return this.admins.has(name) && this.names.has(name);
  }

  list(): string[] {
    return [...this.names].sort();
  }

  get count(): number {
    return this.names.size;
  }

  /**
   * Checks a password. Wrong password, unknown user and blocked user cost the same bcrypt work:
   * the htpasswd file checks unknown names against a decoy of the same cost, and eligibility is
   * decided only after the check.
   */
  async verify(name: string, password: string): Promise<boolean> {
    const ok = (await this.file.verify(name, password)) && this.rule.admits(name);
    // A user added to the file since the last refresh must not be bounced after signing in.
    if (ok && !this.names.has(name)) this.refresh();
    return ok;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
