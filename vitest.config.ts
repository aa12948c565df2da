import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // On 2 cores vitest would run one file at a time; most files wait on real server
    // processes, fsync and the network stack, so two at a time cut the suite's wall time by
    // 30-45% (measured: 107-127 s with one worker, 58-90 s with two, worse again with four).
    maxWorkers: 2,
  },
});
