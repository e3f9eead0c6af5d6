import * as z from './zod';

const Text = z.string().check(z.minLength(1));


const EnvSchema = z.object({
  STAGE: z._default(Text, 'dev'),
  TABLE_NAME: Text,
  QUEUE_URL_HIGH: z.url(),
  QUEUE_URL_DEFAULT: z.url(),
  TASK_RETENTION_DAYS: z.intFromText(30, 1),
  /** How many tasks of one SQS batch run at once. */
  WORKER_CONCURRENCY: z.intFromText(10, 1, 100),
  /** Stop waiting for tasks this long before the Lambda's own deadline. */
  WORKER_DEADLINE_MARGIN_MS: z.intFromText(5_000, 0),
  /** A RUNNING attempt's lease outlives its timeout by this much, to cover recording the outcome. */
  LEASE_MARGIN_MS: z.intFromText(60_000, 1),
  /** How long a request holds the sending of an idempotent task before another request with the key may take it over. */
  IDEMPOTENCY_HOLD_MS: z.intFromText(10_000, 100, 25_000),
  /** The api stops its own calls this long before its Lambda's deadline, to resolve what they left undecided and answer. */
  API_RESOLVE_RESERVE_MS: z.intFromText(5_000, 0, 20_000),
  /** The stage's bucket of payloads and results over the inline threshold (lib/payloads); without it, everything stays in the table. */
  PAYLOAD_BUCKET: z.optional(Text),
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
  dispatchHoldMs: number;
  resolveReserveMs: number;
  /** Payloads and results over the inline threshold go to this S3 bucket (lib/payloads); absent, they stay in DynamoDB, up to its limits. */
  payloadBucket?: string;
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
    dispatchHoldMs: e.IDEMPOTENCY_HOLD_MS,
    resolveReserveMs: e.API_RESOLVE_RESERVE_MS,
    ...(e.PAYLOAD_BUCKET ? { payloadBucket: e.PAYLOAD_BUCKET } : {}),
  };
}

/** The DynamoDB TTL (epoch seconds) of a task created, or retried, at `now`. */
export function expiresAtFrom(now: Date, retentionDays: number): number {
  return Math.floor(now.getTime() / 1000) + retentionDays * 86_400;
}
