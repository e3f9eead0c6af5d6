import { Logger } from '@aws-lambda-powertools/logger';
import { createDocumentClient, createSqsClient } from './clients';
import { loadConfig, type EngineConfig } from './config';
import { TaskMetrics } from './metrics';
import { PayloadObjects } from './payloads/objectStore';
import { createS3Client } from './payloads/s3Client';
import { TaskQueue } from './queue';
import type { TaskTimers } from './schedules/timers';
import { createTimers } from './schedules/timersConfig';
import { TaskStore } from './store/taskStore';

/** Everything the api, worker and enqueue paths need; injectable so tests point it at local servers. */
export interface Engine {
  config: EngineConfig;
  store: TaskStore;
  queue: TaskQueue;
  /** What sends a task's message when its runAt is further ahead than SQS can hold it (lib/schedules). */
  timers: TaskTimers;
  /** The bucket of payloads and results over the inline threshold (lib/payloads); absent without PAYLOAD_BUCKET. */
  objects?: PayloadObjects;
  logger: Logger;
  /** EMF metrics by task name; absent, nothing is measured. */
  metrics?: TaskMetrics;
  now: () => Date;
}

export interface EngineOverrides {
  config?: EngineConfig;
  store?: TaskStore;
  queue?: TaskQueue;
  timers?: TaskTimers;
  objects?: PayloadObjects;
  logger?: Logger;
  metrics?: TaskMetrics;
  now?: () => Date;
}

/** Builds an engine from the environment, with any part replaced. */
export function createEngine(overrides: EngineOverrides = {}): Engine {
  const config = overrides.config ?? loadConfig();
  const store = overrides.store ?? new TaskStore(createDocumentClient(), config.tableName);
  return {
    config,
    store,
    queue: overrides.queue ?? new TaskQueue(createSqsClient(), config.queueUrls),
    timers: overrides.timers ?? createTimers(store),
    objects: overrides.objects ?? (config.payloadBucket ? new PayloadObjects(createS3Client(), config.payloadBucket) : undefined),
    logger: overrides.logger ?? new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'background-tasks' }),
    metrics: overrides.metrics ?? new TaskMetrics(),
    now: overrides.now ?? (() => new Date()),
  };
}

let defaultEngine: Engine | undefined;

/** The engine built from the environment, once per container. */
export function getDefaultEngine(): Engine {
  defaultEngine ??= createEngine();
  return defaultEngine;
}
