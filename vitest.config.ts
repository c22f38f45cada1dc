import { defineConfig } from 'vitest/config';

/** A test that replaces a module (vi.mock) needs a module registry of its own. */
const REPLACES_MODULES = ['test/unit/hash-gate.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: two workers keep argon2 and the servers from starving each other.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    globalSetup: ['./test/helpers/build-dist.ts'],
    projects: [
      {
        extends: true,
        // The files share each worker's loaded modules instead of loading Fastify, oidc-provider
        // and the rest again for every file: that loading was a sixth of the suite's time (208 s of
        // 1 250 summed over the workers on a slow host). Every test builds its own services, stores
        // and servers; what the process holds besides is the hash gate, drained between files.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: REPLACES_MODULES, isolate: false, setupFiles: ['./test/helpers/between-files.ts'] },
      },
      { extends: true, test: { name: 'isolated', include: REPLACES_MODULES } },
    ],
  },
});
