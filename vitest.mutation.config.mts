import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * The tests Stryker runs against each mutant (stryker.config.mjs): unit and
 * integration tests of the delivery path. Left out: the files that check no
 * delivery code (the packaged template, the dashboard's page, the HTTP fuzz,
 * log secrecy) and the local runtime's own tests (event source, recovery,
 * invoke), which reach the delivery code only through seconds of polling and
 * would multiply the run's length for mutants the direct tests already cover.
 * The API's contract tests (OpenAPI, client, CLI, docs) check no delivery code. The random-interleaving property test is left out too: its verdict on a
 * mutant depends on timing, and a kill that a re-run might not repeat is not
 * a test that notices. A shorter test timeout, since a mutant that hangs a
 * test waits it out.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    exclude: [
      ...configDefaults.exclude,
      'test/integration/template.test.ts',
      'test/integration/dashboard.test.ts',
      'test/integration/fuzz.test.ts',
      'test/integration/secrets.test.ts',
      'test/integration/local-*.test.ts',
      // The local S3 server is npm start's and the tests' stand-in for S3, not delivery code.
      'test/integration/s3-server.test.ts',
      'test/integration/delivery-property.test.ts',
      // The API's contract (the document, the client, the CLI) checks no delivery code either, and waits out SDK retries.
      'test/integration/openapi*.test.ts',
      'test/integration/client.test.ts',
      'test/unit/cli.test.ts',
      'test/unit/client-*.test.ts',
      'test/unit/docs-links.test.ts',
    ],
    testTimeout: 6_000,
  },
});
