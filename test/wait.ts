import { vi } from 'vitest';

/**
 * The test suite's one wait: polls `probe` (through vitest's vi.waitFor) until it gives a truthy
 * value, and resolves with that value. A probe that throws is asked again, as one that answers
 * falsy is. After `timeoutMs` it fails naming `what`, with the probe's last error if it had one.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  let lastError: unknown;
  try {
    return await vi.waitFor(
      async () => {
        let value: T;
        try {
          value = await probe();
        } catch (err) {
          lastError = err;
          throw err;
        }
        if (!value) throw new Error(`not yet: ${what}`);
        return value as NonNullable<T>;
      },
      { timeout: timeoutMs, interval: 50 },
    );
  } catch {
    throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
  }
}
