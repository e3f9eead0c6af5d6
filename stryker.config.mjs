// npm run test:mutation: how many small changes to the delivery path the
// unit and integration tests notice (issue #18). Not part of npm test: a full
// run takes over an hour on two cores; incremental, so a run after a small
// change re-tests only the mutants it touches. Reports go to reports/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mts' },
  coverageAnalysis: 'perTest',
  plugins: ['@stryker-mutator/vitest-runner', './stryker/ignoreLogsAndMetrics.mjs'],
  ignorers: ['logs-and-metrics'],
  // The code that enqueues, claims, runs, records, dead-letters and stores tasks.
  mutate: [
    'lib/enqueue.ts',
    'lib/preparedTask.ts',
    'lib/idempotency.ts',
    'lib/compensation.ts',
    'lib/background.ts',
    'lib/worker.ts',
    'lib/deadLetters.ts',
    'lib/retry.ts',
    'lib/cancel.ts',
    'lib/backoff.ts',
    'lib/message.ts',
    'lib/taskError.ts',
    'lib/queue.ts',
    'lib/deadline.ts',
    'lib/strayRejections.ts',
    'lib/taskResult.ts',
    'lib/store/*.ts',
  ],
  ignorePatterns: ['.local', '.esbuild', '.serverless', 'reports', 'test-output', '.stryker-node', '.node-*', 'coverage'],
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  concurrency: 2,
  timeoutMS: 5_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
