import { isValidUserName, NAME_RULE } from '../../config/names.js';

/** The site configuration's lists of who may sign in (JupyterHub.authenticator). */
export interface AccountRules {
  admin_users: readonly string[];
  allowed_users: readonly string[];
  blocked_users: readonly string[];
}

/**
 * Whether an htpasswd entry of a name makes an account: the one rule the hub's user directory,
 * `authz explain` and `config check` apply, so that they agree on who exists.
 */
export class SignInRule {
  private readonly allowed: ReadonlySet<string>;
  private readonly blocked: ReadonlySet<string>;

  constructor(rules: Pick<AccountRules, 'allowed_users' | 'blocked_users'>) {
    this.allowed = new Set(rules.allowed_users);
    this.blocked = new Set(rules.blocked_users);
  }

  admits(name: string): boolean {
    return this.refusal(name) === undefined;
  }

  /** Why an entry of this name signs no one in, or undefined when it may. */
  refusal(name: string): string | undefined {
    if (!isValidUserName(name)) return `invalid user name: ${NAME_RULE}`;
    if (this.blocked.has(name)) return `${name} is in the site configuration's blocked_users`;
    if (this.allowed.size > 0 && !this.allowed.has(name)) return `${name} is not in the site configuration's allowed_users`;
    return undefined;
  }
}
