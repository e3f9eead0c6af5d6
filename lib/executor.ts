import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from './zod';
import { claimTask, finishAttempt, markTaskFailed } from './attempts';
import { retryDelaySeconds } from './backoff';
import type { Engine } from './engine';
import { TaskTimeoutError } from './errors';
import { byteLength } from './json';
import { isTaskId } from './keys';
import { runWithConcurrency } from './concurrency';
import { getTask, type TaskDefinition } from './task';
import type { AttemptRecord, TaskError, TaskRecord } from './types';

/** Results above this are replaced by a truncation marker (DynamoDB items are capped at 400 KB). */
export const RESULT_LIMIT_BYTES = 64 * 1024;
const ERROR_MESSAGE_LIMIT = 1_000;

/** The part of the Lambda context the worker uses. */
export interface DeadlineSource {
  getRemainingTimeInMillis(): number;
}

/** How one message ended: acknowledged, or handed back to SQS (optionally at a set time). */
type MessageOutcome = { retry: false } | { retry: true; visibilitySeconds?: number };

const MessageSchema = z.object({ v: z.literal(1), taskId: z.string().check(z.refine(isTaskId)), name: z.string() });

/**
 * Runs an SQS batch of task messages, concurrently up to the configured bound,
 * and returns the partial batch response: exactly the messages SQS should
 * deliver again. One message's failure never touches another's, and if the
 * Lambda's time is about to run out, unfinished messages are reported for retry.
 */
export async function processBatch(engine: Engine, event: SQSEvent, context?: DeadlineSource): Promise<SQSBatchResponse> {
  try {
    return await runBatch(engine, event, context);
  } finally {
    // Once per invocation, whatever happened: unfinished tasks are simply not counted yet.
    engine.metrics?.flush();
  }
}

async function runBatch(engine: Engine, event: SQSEvent, context?: DeadlineSource): Promise<SQSBatchResponse> {
  const outcomes = new Map<string, MessageOutcome>();
  const work = runWithConcurrency(event.Records, engine.config.workerConcurrency, async (record) => {
    outcomes.set(record.messageId, await processMessage(engine, record));
  });

  const budget = context ? context.getRemainingTimeInMillis() - engine.config.workerDeadlineMarginMs : Infinity;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    if (Number.isFinite(budget)) timer = setTimeout(() => resolve('deadline'), Math.max(0, budget));
  });
  const ended = await Promise.race([work.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (ended === 'deadline') {
    engine.logger.warn('Lambda deadline near: reporting unfinished messages for retry', {
      unfinished: event.Records.length - outcomes.size,
    });
  }

  const retries = event.Records.flatMap((record) => {
    const outcome = outcomes.get(record.messageId) ?? unfinished(record, engine.config.leaseMarginMs);
    return outcome.retry ? [{ record, visibilitySeconds: outcome.visibilitySeconds }] : [];
  });
  await Promise.all(
    retries.map(({ record, visibilitySeconds }) =>
      visibilitySeconds === undefined ? undefined : setVisibility(engine, record, visibilitySeconds),
    ),
  );
  return { batchItemFailures: retries.map(({ record }) => ({ itemIdentifier: record.messageId })) };
}

/**
 * A message still running at the deadline comes back when its lease ends, not
 * after the queue's long visibility timeout: the next claim takes it over then.
 */
function unfinished(record: SQSRecord, leaseMarginMs: number): MessageOutcome {
  const parsed = parseMessage(record.body);
  const task = parsed.ok ? getTask(parsed.message.name) : undefined;
  return { retry: true, visibilitySeconds: task ? task.timeoutSeconds + leaseMarginMs / 1000 : undefined };
}

async function processMessage(engine: Engine, message: SQSRecord): Promise<MessageOutcome> {
  const receiveCount = Number(message.attributes?.ApproximateReceiveCount ?? 1);
  const parsed = parseMessage(message.body);
  if (!parsed.ok) {
    return rejectMessage(engine, message, parsed.taskId, { type: 'InvalidMessage', message: 'The queue message could not be parsed' }, receiveCount);
  }
  const task = getTask(parsed.message.name);
  if (!task) {
    const error = { type: 'UnknownTask', message: `No task is registered under the name "${parsed.message.name}"` };
    return rejectMessage(engine, message, parsed.message.taskId, error, receiveCount);
  }
  const { taskId } = parsed.message;
  try {
    const claim = await claimTask(engine.store, taskId, engine.now(), task.timeoutSeconds * 1000 + engine.config.leaseMarginMs);
    switch (claim.outcome) {
      case 'claimed':
        return await runAttempt(engine, task, claim.record);
      case 'skip':
        engine.logger.info('Duplicate delivery skipped', { taskId, status: claim.record.status });
        return { retry: false };
      case 'exhausted':
        await markTaskFailed(engine.store, taskId, { type: 'AttemptsExhausted', message: 'The last attempt did not report an outcome (worker crashed or timed out)' }, engine.now());
        engine.metrics?.failed(task.name);
        return { retry: false };
      case 'missing':
        // The api writes the record and the message in parallel, so the message
        // can arrive first; if the record never comes, the DLQ takes the message.
        return { retry: true, visibilitySeconds: orphanBackoff(receiveCount) };
    }
  } catch (error) {
    engine.logger.error('Task message could not be processed; SQS will deliver it again', { taskId, error });
    return { retry: true };
  }
}

async function runAttempt(engine: Engine, task: TaskDefinition, claimed: TaskRecord): Promise<MessageOutcome> {
  const attempt = claimed.attempts;
  const logger = engine.logger.createChild({ persistentKeys: { taskId: claimed.taskId, taskName: task.name, attempt } });
  const startedAt = engine.now();
  if (attempt === 1) {
    // Waiting starts when the task could first run: after its delay, if it had one.
    const queueWaitMs = startedAt.getTime() - Date.parse(claimed.createdAt) - (claimed.delaySeconds ?? 0) * 1000;
    logger.info('Task started', { queueWaitMs });
    engine.metrics?.queueWait(task.name, queueWaitMs);
  }

  const outcome = await runHandler(task, claimed, attempt, logger);
  const finishedAt = engine.now();
  const entry: AttemptRecord = {
    attempt,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    outcome: outcome.ok ? 'succeeded' : outcome.timedOut ? 'timed_out' : 'failed',
    ...(outcome.ok ? {} : { error: outcome.error }),
  };

  if (outcome.ok) {
    await finishAttempt(engine.store, claimed, entry, { status: 'SUCCEEDED', result: capResult(outcome.result) }, finishedAt);
    logger.info('Task succeeded', { durationMs: entry.durationMs });
    engine.metrics?.attemptFinished(task.name, 'succeeded', entry.durationMs);
    return { retry: false };
  }
  const retryable = outcome.retryable && attempt < claimed.maxAttempts;
  logger.error(retryable ? 'Task attempt failed; will retry' : 'Task failed', { durationMs: entry.durationMs, error: outcome.cause });
  const owned = await finishAttempt(engine.store, claimed, entry, { status: retryable ? 'RETRYING' : 'FAILED', error: outcome.error }, finishedAt);
  engine.metrics?.attemptFinished(task.name, retryable ? 'retrying' : 'failed', entry.durationMs);
  if (!retryable || !owned) return { retry: false };
  return { retry: true, visibilitySeconds: retryDelaySeconds(attempt, task.backoff) };
}

type HandlerOutcome =
  | { ok: true; result: unknown }
  | { ok: false; error: TaskError; cause: unknown; timedOut: boolean; retryable: boolean };

async function runHandler(task: TaskDefinition, record: TaskRecord, attempt: number, logger: Engine['logger']): Promise<HandlerOutcome> {
  const payload = z.safeParse(task.payload, record.payload);
  if (!payload.success) {
    // The schema changed since the task was enqueued: no retry can fix it.
    const error = { type: 'InvalidPayload', message: 'The stored payload no longer matches the task schema' };
    return { ok: false, error, cause: payload.error, timedOut: false, retryable: false };
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TaskTimeoutError(record.timeoutSeconds);
      controller.abort(error);
      reject(error);
    }, record.timeoutSeconds * 1000);
  });
  try {
    const ctx = { taskId: record.taskId, attempt, maxAttempts: record.maxAttempts, signal: controller.signal, logger };
    const result = await Promise.race([Promise.resolve().then(() => task.run(payload.data, ctx)), timeout]);
    return { ok: true, result };
  } catch (cause) {
    const timedOut = cause instanceof TaskTimeoutError;
    return { ok: false, error: toTaskError(cause), cause, timedOut, retryable: true };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A message the worker cannot run: it is recorded FAILED if its record
 * exists, and otherwise handed back so that redrive takes it to the DLQ.
 */
async function rejectMessage(
  engine: Engine,
  message: SQSRecord,
  taskId: string | undefined,
  error: TaskError,
  receiveCount: number,
): Promise<MessageOutcome> {
  engine.logger.error('Poison message', { messageId: message.messageId, taskId, error });
  if (taskId) {
    try {
      const failed = await markTaskFailed(engine.store, taskId, error, engine.now());
      if (failed) engine.metrics?.failed(failed.name);
      if (failed || (await engine.store.get(taskId))) return { retry: false };
    } catch (cause) {
      engine.logger.error('Could not record a poison message', { taskId, error: cause });
    }
  }
  return { retry: true, visibilitySeconds: orphanBackoff(receiveCount) };
}

function parseMessage(body: string): { ok: true; message: z.infer<typeof MessageSchema> } | { ok: false; taskId?: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false };
  }
  const parsed = MessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const taskId = (json as { taskId?: unknown } | null)?.taskId;
  return { ok: false, taskId: typeof taskId === 'string' && isTaskId(taskId) ? taskId : undefined };
}

/** Messages without a runnable record come back quickly at first, then within a minute, until redrive. */
function orphanBackoff(receiveCount: number): number {
  return Math.min(60, 2 ** Math.min(receiveCount, 6));
}

async function setVisibility(engine: Engine, record: SQSRecord, seconds: number): Promise<void> {
  try {
    const queueUrl = await engine.queue.urlForArn(record.eventSourceARN);
    await engine.queue.changeVisibility(queueUrl, record.receiptHandle, seconds);
  } catch (error) {
    // The message still comes back, after the queue's own visibility timeout.
    engine.logger.warn('Could not set the retry delay', { messageId: record.messageId, error });
  }
}

/** A client-safe error: type and message only; the stack stays in the logs. */
export function toTaskError(cause: unknown): TaskError {
  if (cause instanceof Error) {
    return { type: cause.name || 'Error', message: truncate(cause.message, ERROR_MESSAGE_LIMIT) };
  }
  return { type: 'NonErrorThrown', message: truncate(safeString(cause), ERROR_MESSAGE_LIMIT) };
}

/** The result as stored: as is up to 64 KB, otherwise a marker saying what was dropped. */
export function capResult(result: unknown): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch {
    return { truncated: true, reason: 'not serialisable as JSON' };
  }
  if (json === undefined) return null;
  const size = byteLength(json);
  if (size <= RESULT_LIMIT_BYTES) return JSON.parse(json) as unknown;
  return { truncated: true, reason: `result is ${size} bytes; the limit is ${RESULT_LIMIT_BYTES}`, sizeBytes: size };
}

function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
