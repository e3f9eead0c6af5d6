import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEngine, type Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { TaskMetrics } from '../../lib/metrics';
import { fail, writeLog } from '../../lib/tasks/examples';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { expectErrorLogs } from '../support/logs';

// It counts a task that fails.
expectErrorLogs(
  'Task failed',
);

interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

let aws: LocalAws;
let engine: Engine;
let written: string[] = [];

/** Metrics as Powertools writes them on Lambda: EMF JSON lines on stdout (tests switch output off; this one on). */
function capturedMetrics(): TaskMetrics {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  // Out of dev mode, as deployed: EMF documents go to stdout, where the test reads them.
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  const metrics = new Metrics({ namespace: 'BackgroundTasksTest', serviceName: 'metrics-test' });
  vi.unstubAllEnvs();
  return new TaskMetrics(metrics);
}

function emfDocuments(): EmfDocument[] {
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

beforeAll(async () => {
  aws = await startLocalAws();
  engine = createEngine({ ...(await createTestEngine(aws)), metrics: capturedMetrics() });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
});
afterAll(async () => {
  vi.restoreAllMocks();
  await aws.close();
});

describe('task metrics in EMF', () => {
  it('counts one succeeded and one failed task by task name, with their durations and queue waits', async () => {
    written = [];
    const ok = await enqueue(writeLog, { message: 'metrics' }, {}, engine);
    const bad = await enqueue(fail, { message: 'boom' }, { maxAttempts: 1 }, engine);
    // Each enqueue flushes its own document: one per request.
    expect(emfDocuments().map((d) => [d.taskName, d.TasksEnqueued])).toEqual([
      ['write_log', 1],
      ['fail', 1],
    ]);

    await runUntilTerminal(engine, aws, [ok.taskId, bad.taskId]);
    const docs = emfDocuments();
    for (const d of docs) {
      expect(d._aws.CloudWatchMetrics).toHaveLength(1);
      expect(d._aws.CloudWatchMetrics[0]!.Namespace).toBe('BackgroundTasksTest');
      expect(d._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'taskName']]);
      expect(d.service).toBe('metrics-test');
    }
    const worker = docs.slice(2);
    const succeeded = worker.find((d) => d.taskName === 'write_log')!;
    const failed = worker.find((d) => d.taskName === 'fail')!;

    expect(succeeded).toMatchObject({ TasksSucceeded: 1, TaskDurationMs: expect.any(Number), QueueWaitMs: expect.any(Number) });
    expect(succeeded).not.toHaveProperty('TasksFailed');
    expect(failed).toMatchObject({ TasksFailed: 1, TaskDurationMs: expect.any(Number), QueueWaitMs: expect.any(Number) });
    expect(failed).not.toHaveProperty('TasksSucceeded');
    for (const d of [succeeded, failed]) {
      expect(d.TaskDurationMs as number).toBeGreaterThanOrEqual(0);
      expect(d.QueueWaitMs as number).toBeGreaterThanOrEqual(0);
      expect(d.QueueWaitMs as number).toBeLessThan(20_000);
    }
    expect(new Map(succeeded._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]))).toEqual(
      new Map([
        ['TasksSucceeded', 'Count'],
        ['TaskDurationMs', 'Milliseconds'],
        ['QueueWaitMs', 'Milliseconds'],
      ]),
    );
    expect(failed._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name).sort()).toEqual(['QueueWaitMs', 'TaskDurationMs', 'TasksFailed']);
  });

  it('keeps the task-name dimension on every document when one name has more values than one document holds', () => {
    written = [];
    const metrics = capturedMetrics();
    for (let i = 0; i < 150; i++) metrics.attemptFinished('bulk', 'succeeded', i);
    metrics.flush();
    const docs = emfDocuments();
    expect(docs).toHaveLength(2);
    expect(docs.map((d) => d.taskName)).toEqual(['bulk', 'bulk']);
    expect(docs[0]!.TasksSucceeded).toBe(150);
    expect([...(docs[0]!.TaskDurationMs as number[]), ...(docs[1]!.TaskDurationMs as number[])]).toEqual([...Array(150).keys()]);
  });

  it('never fails its caller: a publish that throws is logged and the next flush starts clean', () => {
    written = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    class BrokenOnce extends Metrics {
      broken = true;
      override publishStoredMetrics(): this {
        if (this.broken) {
          this.broken = false;
          throw new Error('stdout closed');
        }
        return super.publishStoredMetrics();
      }
    }
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    const metrics = new TaskMetrics(new BrokenOnce({ namespace: 'BackgroundTasksTest', serviceName: 'metrics-test' }));
    vi.unstubAllEnvs();
    metrics.enqueued('lost');
    expect(() => metrics.flush()).not.toThrow();
    expect(warn).toHaveBeenCalledWith('Task metrics could not be published', expect.objectContaining({ taskName: 'lost' }));
    metrics.enqueued('kept');
    metrics.flush();
    expect(emfDocuments().map((d) => [d.taskName, d.TasksEnqueued])).toEqual([['kept', 1]]);
    warn.mockRestore();
  });

  it('writes nothing when nothing was measured, and nothing twice', () => {
    written = [];
    const metrics = capturedMetrics();
    metrics.flush();
    metrics.enqueued('once');
    metrics.flush();
    metrics.flush();
    expect(emfDocuments().map((d) => d.taskName)).toEqual(['once']);
  });
});
