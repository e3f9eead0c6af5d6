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
    // Scheduling (issue 26): when a task may run, how enqueue sends it, its timers, a tick into one task, and the times.
    'lib/schedules/runAt.ts',
    'lib/schedules/dispatch.ts',
    'lib/schedules/schedulerTimers.ts',
    'lib/schedules/tableTimers.ts',
    'lib/schedules/tick.ts',
    'lib/schedules/scheduleStore.ts',
    'lib/schedules/cron.ts',
    'lib/schedules/every.ts',
    // Payloads and results over 6 KB: what goes to S3, before what, and how it is read back (test/integration/payloads.test.ts, cost.test.ts).
    'lib/payloads/storePayload.ts',
    'lib/payloads/storeResult.ts',
    'lib/payloads/readPayload.ts',
    'lib/payloads/renewPayload.ts',
    'lib/payloads/taskObjects.ts',
    'lib/payloads/objectStore.ts',
    'lib/payloads/objectKeys.ts',
    // The trace context every enqueue and attempt carries, and their spans (not setup/: the SDK's wiring).
    'lib/tracing/*.ts',
    // Control of running work: what admits an attempt, watches it while it runs, and records its cancel; debounced enqueues.
    'lib/control/*.ts',
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
