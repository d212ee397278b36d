import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the contract check first, so its teardown (which fails the run on any
    // answer that differs from the OpenAPI document) runs after the stack's
    globalSetup: ['test/support/contract-setup.ts', 'test/support/global-setup.ts'],
    // records every answer the tests get from a test stack's api, for that check
    setupFiles: ['test/support/contract-recorder.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // One file at a time: the time-skipping server's clock is shared, and the
    // integration tests share one Temporal dev server and one Postgres.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
