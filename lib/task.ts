import type { Logger } from '@aws-lambda-powertools/logger';
import type { $ZodType, input, output } from 'zod/v4/core';
import type { Priority } from './types';

/** Limits that every task definition and every enqueue request must respect. */
export const TASK_LIMITS = {
  maxAttempts: 25,
  /** The worker Lambda's timeout (serverless.yml) bounds this, less a margin to record the outcome. */
  maxTimeoutSeconds: 840,
  /** SQS's own cap on DelaySeconds. */
  maxDelaySeconds: 900,
  /** SQS's message cap; the payload lives in DynamoDB but we keep the SQS-compatible bound. */
  maxPayloadBytes: 256 * 1024,
} as const;

/** What a handler sees besides its payload. */
export interface TaskContext {
  taskId: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the task's timeout passes; long work should watch it. */
  signal: AbortSignal;
  /** Powertools Logger; every line carries taskId, taskName and attempt. */
  logger: Logger;
}

export interface BackoffOptions {
  /** First retry waits up to this (full jitter). Default 2. */
  baseSeconds?: number;
  /** No retry waits longer than this. Default 300. */
  maxSeconds?: number;
}

export interface TaskOptions<S extends $ZodType, R> {
  name: string;
  /** A zod 4 schema, from `zod` or the smaller `zod/mini`. */
  payload: S;
  /** Total runs, first included. Default 3. */
  maxAttempts?: number;
  /** Default 30. */
  timeoutSeconds?: number;
  /** `high` tasks go to their own queue and consumer. Default `default`. */
  priority?: Priority;
  backoff?: BackoffOptions;
  run: (payload: output<S>, ctx: TaskContext) => Promise<R> | R;
}

/** A task as the engine holds it: the options with defaults applied. */
export interface TaskDefinition<S extends $ZodType = $ZodType, R = unknown> {
  readonly name: string;
  readonly payload: S;
  readonly maxAttempts: number;
  readonly timeoutSeconds: number;
  readonly priority: Priority;
  readonly backoff: Required<BackoffOptions>;
  readonly run: (payload: output<S>, ctx: TaskContext) => Promise<R> | R;
}

/** The payload type a caller must pass to enqueue `T`. */
export type PayloadOf<T> = T extends TaskDefinition<infer S> ? input<S> : never;

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

const registry = new Map<string, TaskDefinition>();

/**
 * Defines a task once: its name, payload schema and options, and registers it.
 * The payload type flows from the schema to `enqueue` and `backgroundTasks.add`.
 */
export function defineTask<S extends $ZodType, R>(options: TaskOptions<S, R>): TaskDefinition<S, R> {
  const maxAttempts = options.maxAttempts ?? 3;
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  if (!NAME_PATTERN.test(options.name)) {
    throw new TypeError(`defineTask: name "${options.name}" must match ${NAME_PATTERN}`);
  }
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > TASK_LIMITS.maxAttempts) {
    throw new TypeError(`defineTask(${options.name}): maxAttempts must be an integer from 1 to ${TASK_LIMITS.maxAttempts}`);
  }
  if (!(timeoutSeconds > 0) || timeoutSeconds > TASK_LIMITS.maxTimeoutSeconds) {
    throw new TypeError(`defineTask(${options.name}): timeoutSeconds must be in (0, ${TASK_LIMITS.maxTimeoutSeconds}]`);
  }
  const existing = registry.get(options.name);
  if (existing) {
    throw new TypeError(`defineTask: a task named "${options.name}" is already defined`);
  }
  const definition: TaskDefinition<S, R> = Object.freeze({
    name: options.name,
    payload: options.payload,
    maxAttempts,
    timeoutSeconds,
    priority: options.priority ?? 'default',
    backoff: { baseSeconds: options.backoff?.baseSeconds ?? 2, maxSeconds: options.backoff?.maxSeconds ?? 300 },
    run: options.run,
  });
  registry.set(definition.name, definition as unknown as TaskDefinition);
  return definition;
}

/** The registered task of that name, or undefined. */
export function getTask(name: string): TaskDefinition | undefined {
  return registry.get(name);
}
