import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The dimension every task metric carries, so CloudWatch can graph each task apart. */
export const TASK_NAME_DIMENSION = 'taskName';
/** Powertools flushes by itself at 100 values of one metric, dropping the dimensions: stay below. */
const VALUES_PER_DOCUMENT = 99;

interface Tally {
  enqueued: number;
  succeeded: number;
  failed: number;
  retried: number;
  durationMs: number[];
  queueWaitMs: number[];
}

/**
 * Task metrics in CloudWatch Embedded Metric Format (Powertools Metrics), by
 * task name: TasksEnqueued, TasksSucceeded, TasksFailed, TasksRetried,
 * TaskDurationMs (each attempt) and QueueWaitMs (from when a task could first
 * run to its first claim).
 *
 * One invocation handles tasks of several names, and an EMF document has one
 * set of dimensions, so figures are tallied per name here and `flush()` writes
 * one document per name: call it once at the end of each invocation.
 */
export class TaskMetrics {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly metrics: Metrics = new Metrics({
      // POWERTOOLS_METRICS_NAMESPACE (serverless.yml) wins; the fallback keeps local runs warning-free.
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'BackgroundTasks',
      serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'background-tasks',
    }),
  ) {}

  enqueued(taskName: string, count = 1): void {
    this.tally(taskName).enqueued += count;
  }

  /** One attempt's end: `outcome` is the task's state after it. */
  attemptFinished(taskName: string, outcome: 'succeeded' | 'retrying' | 'failed', durationMs: number): void {
    const t = this.tally(taskName);
    t.durationMs.push(durationMs);
    if (outcome === 'succeeded') t.succeeded += 1;
    else if (outcome === 'failed') t.failed += 1;
    else t.retried += 1;
  }

  /** A task that ended FAILED without an attempt of its own (delivery exhausted, unknown task, poison message). */
  failed(taskName: string): void {
    this.tally(taskName).failed += 1;
  }

  queueWait(taskName: string, ms: number): void {
    this.tally(taskName).queueWaitMs.push(Math.max(0, ms));
  }

  /**
   * Writes what was tallied since the last flush (one EMF line per task name)
   * and starts again. Never throws: metrics must not fail a batch or a request.
   */
  flush(): void {
    const tallies = [...this.tallies];
    this.tallies.clear();
    for (const [taskName, t] of tallies) {
      try {
        this.publish(taskName, t);
      } catch (error) {
        this.metrics.clearMetrics();
        this.metrics.clearDimensions();
        console.warn('Task metrics could not be published', { taskName, error });
      }
    }
  }

  private publish(taskName: string, t: Tally): void {
    const documents = Math.max(1, Math.ceil(Math.max(t.durationMs.length, t.queueWaitMs.length) / VALUES_PER_DOCUMENT));
    for (let d = 0; d < documents; d++) {
      this.metrics.addDimension(TASK_NAME_DIMENSION, taskName);
      if (d === 0) {
        this.count('TasksEnqueued', t.enqueued);
        this.count('TasksSucceeded', t.succeeded);
        this.count('TasksFailed', t.failed);
        this.count('TasksRetried', t.retried);
      }
      const slice = (values: number[]) => values.slice(d * VALUES_PER_DOCUMENT, (d + 1) * VALUES_PER_DOCUMENT);
      for (const ms of slice(t.durationMs)) this.metrics.addMetric('TaskDurationMs', MetricUnit.Milliseconds, ms);
      for (const ms of slice(t.queueWaitMs)) this.metrics.addMetric('QueueWaitMs', MetricUnit.Milliseconds, ms);
      if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
      else this.metrics.clearDimensions();
    }
  }

  private count(name: string, value: number): void {
    if (value > 0) this.metrics.addMetric(name, MetricUnit.Count, value);
  }

  private tally(taskName: string): Tally {
    let t = this.tallies.get(taskName);
    if (!t) {
      t = { enqueued: 0, succeeded: 0, failed: 0, retried: 0, durationMs: [], queueWaitMs: [] };
      this.tallies.set(taskName, t);
    }
    return t;
  }
}
