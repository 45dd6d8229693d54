import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // expect.poll gives up after 1 s by default: too soon for a page or a process on a loaded 2-core machine.
    expect: { poll: { timeout: 10_000 } },
  },
});
