import { defineConfig } from 'vitest/config';

// Integration tests start real servers and real processes; two cores are all we have,
// so files run in forks with a generous per-test timeout rather than many at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
