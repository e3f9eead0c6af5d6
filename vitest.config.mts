import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The dashboard's script, bundled as the Lambda build bundles it (lib/build/dashboardClient.cjs).
  resolve: { alias: { 'virtual:dashboard-client': fileURLToPath(new URL('./test/support/dashboardClient.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/logs.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each start their own local servers on free ports, so
    // they can run side by side; two workers match the two-core CI machine.
    maxWorkers: 2,
    // The logger at INFO, as deployed: a log call that throws on a hostile value must fail a test, not hide behind a
    // silent logger. POWERTOOLS_DEV sends its lines through the global console, where test/support/logs.ts reads them;
    // vitest shows a test's console output only when the test fails.
    env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'true' },
    silent: 'passed-only',
  },
});
