import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers on loopback and CDK synth: generous per-test limits, never timing assertions.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The JSON report lets .ci/run print a one-line summary whatever the terminal reporter shows.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]],
  },
});
