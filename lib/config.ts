import { z } from 'zod';

const EnvSchema = z.object({
  STAGE: z.string().min(1).default('dev'),
  TABLE_NAME: z.string().min(1),
  QUEUE_URL_HIGH: z.string().url(),
  QUEUE_URL_DEFAULT: z.string().url(),
  TASK_RETENTION_DAYS: z.coerce.number().int().positive().default(30),
  /** How many tasks of one SQS batch run at once. */
  WORKER_CONCURRENCY: z.coerce.number().int().positive().max(100).default(10),
  /** Stop waiting for tasks this long before the Lambda's own deadline. */
  WORKER_DEADLINE_MARGIN_MS: z.coerce.number().int().nonnegative().default(5_000),
  /** A RUNNING attempt's lease outlives its timeout by this much, to cover recording the outcome. */
  LEASE_MARGIN_MS: z.coerce.number().int().positive().default(60_000),
});

/** The engine's configuration, read once from the environment. */
export interface EngineConfig {
  stage: string;
  tableName: string;
  queueUrls: { high: string; default: string };
  retentionDays: number;
  workerConcurrency: number;
  workerDeadlineMarginMs: number;
  leaseMarginMs: number;
}

/**
 * Reads and validates the environment once, at cold start.
 * Fails with a message naming each missing or malformed variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    stage: e.STAGE,
    tableName: e.TABLE_NAME,
    queueUrls: { high: e.QUEUE_URL_HIGH, default: e.QUEUE_URL_DEFAULT },
    retentionDays: e.TASK_RETENTION_DAYS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerDeadlineMarginMs: e.WORKER_DEADLINE_MARGIN_MS,
    leaseMarginMs: e.LEASE_MARGIN_MS,
  };
}
