import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `source` export
// condition), so tests run against the code under edit, not a stale build.
export default defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'default'] },
  // Vitest hands the SSR conditions to Node as --conditions: no `module`, which picks builds Node cannot run (@opentelemetry/api's ESM).
  ssr: { resolve: { conditions: ['source', 'node', 'default'] } },
  test: {
    include: [
      'examples/*/src/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'examples/shop/*/src/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    typecheck: { enabled: false },
  },
});
