import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginLimits {
  /** Failed attempts allowed per user name within `windowSeconds`. */
  perUser: number;
  /** Failed attempts allowed per client address within `windowSeconds`. */
  perAddress: number;
  windowSeconds: number;
  /** How long a name or address stays locked out once over the limit. */
  blockSeconds: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perUser: 5, perAddress: 20, windowSeconds: 900, blockSeconds: 900 };

/** Failed sign-ins, counted per user name and per client address; a success clears both. */
export class LoginLimiter {
  private readonly byUser: RateLimiterMemory;
  private readonly byAddress: RateLimiterMemory;

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.byUser = new RateLimiterMemory({ keyPrefix: 'login-user', points: limits.perUser, duration: limits.windowSeconds, blockDuration: limits.blockSeconds });
    this.byAddress = new RateLimiterMemory({ keyPrefix: 'login-addr', points: limits.perAddress, duration: limits.windowSeconds, blockDuration: limits.blockSeconds });
  }

  /** Seconds until the next attempt is allowed, or 0 when it is allowed now. */
  async retryAfter(user: string, address: string): Promise<number> {
    const [u, a] = await Promise.all([this.byUser.get(user.toLowerCase()), this.byAddress.get(address)]);
    let wait = 0;
    for (const res of [u, a]) {
      if (res && res.remainingPoints <= 0) wait = Math.max(wait, Math.ceil(res.msBeforeNext / 1000));
    }
    return wait;
  }

  async failed(user: string, address: string): Promise<void> {
    await Promise.all([
      this.byUser.consume(user.toLowerCase()).catch(ignoreLimit),
      this.byAddress.consume(address).catch(ignoreLimit),
    ]);
  }

  async succeeded(user: string, address: string): Promise<void> {
    await Promise.all([this.byUser.delete(user.toLowerCase()), this.byAddress.delete(address)]);
  }
}

function ignoreLimit(err: unknown): void {
  // consume() rejects with a RateLimiterRes once over the limit; retryAfter() reports that.
  if (!(err instanceof RateLimiterRes)) throw err;
}
