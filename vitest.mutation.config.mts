import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * The tests Stryker runs against each mutant (stryker.config.mjs): unit and
 * integration, without the two that check no delivery code (the packaged
 * template, the dashboard's page) and with fewer property-test runs, since a
 * surviving mutant runs every test that covers it.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/integration/template.test.ts', 'test/integration/dashboard.test.ts'],
    env: { ...base.test?.env, PROPERTY_RUNS: '20' },
  },
});
