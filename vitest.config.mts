import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The dashboard's script, bundled as the Lambda build bundles it (lib/build/dashboardClient.cjs).
  resolve: { alias: { 'virtual:dashboard-client': fileURLToPath(new URL('./test/support/dashboardClient.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each start their own local servers on free ports, so
    // they can run side by side; two workers match the two-core CI machine.
    maxWorkers: 2,
    env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
