import type { Logger } from '@aws-lambda-powertools/logger';
import type { $ZodType, input, output } from 'zod/v4/core';
import { checkControl, type ControlOptions, type TaskControl } from './control/options';
import { checkSchedule, type RecurringSchedule, type ScheduleOptions } from './schedules/schedule';
import type { Priority } from './types';

/** Limits that every task definition and every enqueue request must respect. */
export const TASK_LIMITS = {
  maxAttempts: 25,
  /** The worker Lambda's timeout (serverless.yml) bounds this, less a margin to record the outcome. */
  maxTimeoutSeconds: 840,
  /** A year: beyond SQS's own 900 s, a timer sends the message (docs/scheduling.md). */
  maxDelaySeconds: 31_536_000,
  /** A payload's JSON, with a bucket for payloads (lib/payloads: S3 over 6 KB); 256 KB without one (it stays in DynamoDB). */
  maxPayloadBytes: 5 * 1024 * 1024,
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
  /**
   * Reports how far the task has got (any JSON up to 4 KB): `GET /tasks/{id}`
   * shows the last value as `progress`. Written at most once a second, the
   * last value always; never throws, and its promise never rejects
   * (docs/control.md).
   */
  progress: (value: unknown) => Promise<void>;
}

export interface BackoffOptions {
  /** First retry waits up to this (full jitter). Default 2. */
  baseSeconds?: number;
  /** No retry waits longer than this. Default 300. */
  maxSeconds?: number;
}

export interface TaskOptions<N extends string, S extends $ZodType, R, RS extends $ZodType | undefined = undefined> extends ControlOptions<output<S>> {
  name: N;
  /** A zod 4 schema, from `zod` or the smaller `zod/mini`. */
  payload: S;
  /**
   * What `run` returns, as a zod schema (optional): the OpenAPI document shows
   * it as the task's result, and the worker checks every result against it (a
   * result that does not match fails the attempt, without a retry: running
   * the same code again cannot fix it). The output of the schema is recorded.
   */
  result?: RS;
  /** Total runs, first included. Default 3. */
  maxAttempts?: number;
  /** Default 30. */
  timeoutSeconds?: number;
  /** `high` tasks go to their own queue and consumer. Default `default`. */
  priority?: Priority;
  backoff?: BackoffOptions;
  /** Enqueue it on its own, on a cron or a rate, in a time zone (docs/scheduling.md). */
  schedule?: ScheduleOptions<input<S>>;
  run: (payload: output<S>, ctx: TaskContext) => Promise<ReturnOf<R, RS>> | ReturnOf<R, RS>;
  /** The engine's own (a workflow's waiting step): the worker runs it, the API document does not list it. */
  internal?: boolean;
}

/** What `run` must return: the result schema's input when there is one. */
type ReturnOf<R, RS> = RS extends $ZodType ? input<RS> : R;

/** A task as the engine holds it: the options with defaults applied. `N` is its name, as a literal type where it was written as one. */
export interface TaskDefinition<S extends $ZodType = $ZodType, R = unknown, N extends string = string> {
  readonly name: N;
  readonly payload: S;
  /** The result schema, if the task declared one. */
  readonly result?: $ZodType;
  readonly maxAttempts: number;
  readonly timeoutSeconds: number;
  readonly priority: Priority;
  readonly backoff: Required<BackoffOptions>;
  /** Its recurring schedule, if it has one. */
  readonly schedule?: RecurringSchedule;
  readonly run: (payload: output<S>, ctx: TaskContext) => Promise<unknown> | unknown;
  /** Concurrency and rate limits (lib/control), when the task has any. */
  readonly control?: TaskControl;
  /** This task with its payload: a step of a workflow (`chain(a.with(payload), b)`, lib/workflows). */
  readonly with: (payload: input<S>) => TaskWithPayload;
  /** Never set: carries the type of the recorded result, for ResultOf and typed clients. */
  readonly '~result'?: R;
}

/** A task and the payload it runs with, as a workflow's step. */
export interface TaskWithPayload {
  readonly task: TaskDefinition;
  readonly payload: unknown;
}

/** The payload type a caller must pass to enqueue `T`. */
export type PayloadOf<T> = T extends TaskDefinition<infer S> ? input<S> : never;

/** What a task's record holds as its result once it succeeded: the result schema's output, or what `run` returns. */
export type ResultOf<T> = T extends { readonly '~result'?: infer R } ? R : never;

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

const registry = new Map<string, TaskDefinition>();
const internal = new Set<string>();

/**
 * Defines a task once: its name, payload schema and options, and registers it.
 * The payload type flows from the schema to `enqueue` and `backgroundTasks.add`.
 */
export function defineTask<const N extends string, S extends $ZodType, R, RS extends $ZodType | undefined = undefined>(
  options: TaskOptions<N, S, R, RS>,
): TaskDefinition<S, RS extends $ZodType ? output<RS> : Awaited<R>, N> {
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
  const control = checkControl(options.name, options as ControlOptions<never>);
  const existing = registry.get(options.name);
  if (existing) {
    throw new TypeError(`defineTask: a task named "${options.name}" is already defined`);
  }
  const definition: TaskDefinition = Object.freeze({
    name: options.name,
    payload: options.payload,
    ...(options.result ? { result: options.result } : {}),
    maxAttempts,
    timeoutSeconds,
    priority: options.priority ?? 'default',
    backoff: { baseSeconds: options.backoff?.baseSeconds ?? 2, maxSeconds: options.backoff?.maxSeconds ?? 300 },
    ...(options.schedule ? { schedule: checkSchedule(options.name, options.schedule, options.payload) } : {}),
    run: options.run,
    ...(control ? { control } : {}),
    with: (payload: unknown): TaskWithPayload => ({ task: definition, payload }),
  }) as TaskDefinition;
  registry.set(definition.name, definition);
  if (options.internal) internal.add(definition.name);
  return definition as unknown as TaskDefinition<S, RS extends $ZodType ? output<RS> : Awaited<R>, N>;
}

/** The registered task of that name, or undefined. */
export function getTask(name: string): TaskDefinition | undefined {
  return registry.get(name);
}

/** Every registered task, in the order defined: what the OpenAPI document describes. */
export function registeredTasks(): TaskDefinition[] {
  return [...registry.values()].filter((t) => !internal.has(t.name));
}
