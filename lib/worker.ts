import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { orphanBackoffSeconds, outageBackoffSeconds, retryDelaySeconds } from './backoff';
import { runWithConcurrency } from './concurrency';
import { admit } from './control/admission';
import { controlAttempt, type AttemptControl } from './control/attempt';
import { endCancelled } from './control/cancelRunning';
import { payloadOfRun } from './control/debouncedPayload';
import { TaskCancelledError } from './control/errors';
import { requeue } from './control/requeue';
import { consumerBudget, withBudget, type DeadlineSource } from './deadline';
import type { Engine } from './engine';
import { TaskTimeoutError } from './errors';
import { parseMessage, type ParsedMessage, type TaskMessage } from './message';
import { readPayload } from './payloads/readPayload';
import { storeResult, type RecordedResult } from './payloads/storeResult';
import { runsAtOf } from './schedules/runAt';
import { enqueueTick, parseTick } from './schedules/tick';
import { claimTask, finishAttempt, markTaskFailed, releaseClaim, type AttemptOutcome, type Claim } from './store/claims';
import { addCounts, noCounts, type FinishedCounts } from './store/counters';
import { newWriteToken } from './store/dynamo';
import type { StateItem } from './store/items';
import type { LoadedTask } from './store/taskStore';
import { getTask, type TaskDefinition } from './task';
import { briefError, loggableError, toTaskError } from './taskError';
import { checkResult } from './taskResult';
import { fromStored, startAttemptSpan, type AttemptStart } from './tracing';
import type { AttemptRecord, TaskError } from './types';
import { advanceWorkflow } from './workflows/advance';
import * as z from './zod';

export type { DeadlineSource } from './deadline';

/** Receives of a task whose type this worker does not know before its run ends FAILED: about 34 minutes of outage backoff. */
export const UNKNOWN_TASK_RECEIVES = 10;

/** How one message ended: acknowledged, or handed back to SQS to come again in `visibilitySeconds`. */
type MessageOutcome = { retry: false } | { retry: true; visibilitySeconds: number };
// Stryker disable next-line ObjectLiteral: {} has no retry either, and every reader tests outcome.retry alone
const ack: MessageOutcome = { retry: false };
const handBack = (seconds: number): MessageOutcome => ({ retry: true, visibilitySeconds: Math.max(0, seconds) });

/** What one batch is doing, shared by its lanes. */
interface Batch {
  engine: Engine;
  /** Each record's body, parsed once, by message id. */
  messages: Map<string, ParsedMessage>;
  loaded: Map<string, LoadedTask>;
  counts: FinishedCounts;
  /** Epoch ms at which each claimed message's lease ends, while its attempt runs. */
  leases: Map<string, number>;
  /** Set once the batch has answered (its deadline came): nothing may start after that. */
  closed: boolean;
}

/**
 * Runs an SQS batch of task messages, concurrently up to the configured bound,
 * and returns the partial batch response: exactly the messages SQS should
 * deliver again, each with the delay it should come back after. One message's
 * failure never touches another's. Near the Lambda's deadline it stops starting
 * messages and answers: what has not started comes back at once, what runs
 * comes back when its lease ends, to be taken over if the attempt never
 * reports (on Lambda, the environment may freeze once the handler returns).
 */
export async function processBatch(engine: Engine, event: SQSEvent, context?: DeadlineSource): Promise<SQSBatchResponse> {
  try {
    return await (context ? withBudget(consumerBudget(context), () => runBatch(engine, event, context)) : runBatch(engine, event));
  } finally {
    // Once per invocation, whatever happened: unfinished tasks are simply not counted yet.
    engine.metrics?.flush();
  }
}

async function runBatch(engine: Engine, event: SQSEvent, context?: DeadlineSource): Promise<SQSBatchResponse> {
  const budget = context ? context.getRemainingTimeInMillis() - engine.config.workerDeadlineMarginMs : Infinity;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    if (Number.isFinite(budget)) timer = setTimeout(resolve, Math.max(0, budget));
  });
  const outcomes = new Map<string, MessageOutcome>();
  const started = new Set<string>();
  const messages = new Map(event.Records.map((r) => [r.messageId, parseMessage(r.body)]));
  const batch: Batch = { engine, messages, loaded: new Map(), counts: noCounts(), leases: new Map(), closed: false };

  const work = (async () => {
    const ids = [...messages.values()].filter((parsed) => parsed.ok).map((parsed) => parsed.message.taskId);
    try {
      // One read for the whole batch: every task's definition and payload.
      batch.loaded = await engine.store.load(ids);
    } catch (error) {
      engine.logger.error('Batch could not be read; SQS will deliver it again', { error: loggableError(error) });
      for (const r of event.Records) outcomes.set(r.messageId, handBack(outageBackoffSeconds(receiveCountOf(r))));
      return;
    }
    await runWithConcurrency(
      event.Records,
      engine.config.workerConcurrency,
      async (record) => {
        started.add(record.messageId);
        outcomes.set(record.messageId, await afterMessage(batch, record, await processMessage(batch, record)));
      },
      () => batch.closed,
    );
  })();

  await Promise.race([work, deadline]);
  batch.closed = true;
  clearTimeout(timer);
  if (outcomes.size < event.Records.length) {
    engine.logger.warn('Lambda deadline near: answering, and handing back what has not finished', { unfinished: event.Records.length - outcomes.size });
  }

  const retries = event.Records.flatMap((record) => {
    const outcome = outcomes.get(record.messageId) ?? unfinished(batch, record, started.has(record.messageId));
    return outcome.retry ? [{ record, visibilitySeconds: outcome.visibilitySeconds }] : [];
  });
  await Promise.all([
    ...retries.map(({ record, visibilitySeconds }) => setVisibility(engine, record, visibilitySeconds)),
    addCounts(engine.store, batch.counts, engine.now()).catch((error: unknown) => engine.logger.warn('Could not update the task counters', { error: loggableError(error) })),
  ]);
  return { batchItemFailures: retries.map(({ record }) => ({ itemIdentifier: record.messageId })) };
}

/**
 * A message the batch answers for before it ended: if its attempt runs, it
 * comes back when the lease ends (the next claim takes the task over then);
 * if it never started, at once, for another invocation.
 */
function unfinished(batch: Batch, record: SQSRecord, started: boolean): MessageOutcome {
  if (!started) return handBack(0);
  const leaseEnd = batch.leases.get(record.messageId);
  if (leaseEnd !== undefined) return handBack((leaseEnd - batch.engine.now().getTime()) / 1000 + 1);
  const parsed = batch.messages.get(record.messageId)!;
  const task = parsed.ok ? getTask(parsed.message.name) : undefined;
  return handBack((task?.timeoutSeconds ?? 0) + batch.engine.config.leaseMarginMs / 1000 + 1);
}

async function processMessage(batch: Batch, record: SQSRecord): Promise<MessageOutcome> {
  const { engine } = batch;
  const receiveCount = receiveCountOf(record);
  const parsed = batch.messages.get(record.messageId)!;
  if (!parsed.ok) {
    // A recurring schedule's tick (lib/schedules): it enqueues that tick's task, once.
    const tick = parseTick(record.body);
    if (tick) return (await enqueueTick(engine, tick)) ? ack : handBack(outageBackoffSeconds(receiveCount));
    // Not ours, or corrupted: without a run it may not touch any task. Redrive takes it to the DLQ.
    engine.logger.error('Message is not a task message', { messageId: record.messageId, taskId: parsed.taskId });
    return handBack(orphanBackoffSeconds(receiveCount));
  }
  const { message } = parsed;
  try {
    const loaded = batch.loaded.get(message.taskId);
    if (!loaded) return await withoutRecord(batch, message, receiveCount);
    const definition = getTask(loaded.task.name);
    if (!definition) {
      // An api deployed before its worker: the task waits (about half an hour) for a worker that knows it.
      if (receiveCount < UNKNOWN_TASK_RECEIVES) {
        engine.logger.warn('Task type not known to this worker; it waits for one that knows it', { taskId: message.taskId, name: loaded.task.name, receiveCount });
        return handBack(outageBackoffSeconds(receiveCount));
      }
      const error = { type: 'UnknownTask', message: `No task is registered under the name "${loaded.task.name}"` };
      return await failRun(batch, loaded, message, error, () => handBack(outageBackoffSeconds(receiveCount)));
    }
    // A copy that comes before the task's delay or runAt (a redrive, the recovery sweep, a timer that fires early) waits it out.
    const runsAt = runsAtOf(loaded.task);
    const nowMs = engine.now().getTime();
    if (message.run === 1 && runsAt - nowMs > 1_000) return handBack((runsAt - nowMs) / 1000);

    const leaseMs = definition.timeoutSeconds * 1000 + engine.config.leaseMarginMs;
    // Concurrency and rate limits (lib/control): decided before the claim, so a task over them is not charged an attempt.
    // A limit keyed by the payload needs it first: one kept in S3 is read here then, once (lib/payloads).
    const ready = definition.control && loaded.payloadJson === undefined ? { ...loaded, payloadJson: await readPayload(engine, loaded) } : loaded;
    const admission = await admit(engine, { definition, task: loaded.task, payloadJson: ready.payloadJson, message, leaseMs, closed: () => batch.closed });
    if (!admission.admitted) return admission.wait.requeued ? ack : handBack(admission.wait.seconds);
    try {
      return await claimAndRun(batch, record, ready, message, definition, leaseMs, runsAt);
    } finally {
      await admission.release();
    }
  } catch (error) {
    engine.logger.error('Task message could not be processed; SQS will deliver it again', { taskId: message.taskId, error: loggableError(error) });
    return handBack(outageBackoffSeconds(receiveCount));
  }
}

/**
 * A workflow's step whose message is done with moves its workflow on
 * (lib/workflows/advance.ts); if that cannot be done now, the message comes
 * back to do it again. A task that is no step has no mark: nothing is read.
 */
async function afterMessage(batch: Batch, record: SQSRecord, outcome: MessageOutcome): Promise<MessageOutcome> {
  const parsed = batch.messages.get(record.messageId)!;
  const loaded = parsed.ok ? batch.loaded.get(parsed.message.taskId) : undefined;
  if (outcome.retry || !loaded?.task.workflow) return outcome;
  try {
    await advanceWorkflow(batch.engine, loaded.task);
    return outcome;
  } catch (error) {
    batch.engine.logger.warn('Workflow could not move on from its step; SQS will deliver the step again', { taskId: loaded.task.taskId, error: loggableError(error) });
    return handBack(outageBackoffSeconds(receiveCountOf(record)));
  }
}

/** Claims the message's task for one attempt and runs it; what the claim found otherwise decides the message's fate. */
async function claimAndRun(batch: Batch, record: SQSRecord, loaded: LoadedTask, message: TaskMessage, definition: TaskDefinition, leaseMs: number, runsAt: number): Promise<MessageOutcome> {
  const { engine } = batch;
  const token = newWriteToken();
  let claim: Claim;
  try {
    claim = await claimTask(engine.store, loaded.task, message.run, engine.now(), leaseMs, token);
  } catch (error) {
    // No try of the claim answered: it may have landed. If it did, its attempt is given back rather than lost.
    await releaseClaim(engine.store, message.taskId, token, engine.now()).catch(() => false);
    throw error;
  }
  const { claimed } = claim;
  if (!claimed) return notClaimed(batch, loaded, message, claim.current);
  if (batch.closed) {
    // The claim answered after the batch did: on Lambda the environment may freeze now, so the attempt does not start.
    await releaseClaim(engine.store, message.taskId, token, engine.now(), claimed).catch(() => false);
    return handBack(0);
  }
  // Read only for a message the batch answers for before its attempt ends; a finished one has its outcome.
  batch.leases.set(record.messageId, claimed.claimableAt!);
  const payloadJson = await payloadOfAttempt(engine, loaded, claimed, token);
  return runAttempt(batch, definition, claimed, payloadJson, runsAt, {
    trace: { definition: fromStored(loaded.task), message },
    message,
    messageId: record.messageId,
    queueArn: record.eventSourceARN,
  });
}

/** The payload the attempt runs with: a debounced task's last (lib/control), or one kept in S3 (lib/payloads); undefined when its object is gone. */
async function payloadOfAttempt(engine: Engine, loaded: LoadedTask, claimed: StateItem, token: string): Promise<string | undefined> {
  if (claimed.payloadRef !== undefined) return payloadOfRun(engine, claimed, token, loaded.payloadJson ?? 'null');
  try {
    return await readPayload(engine, loaded);
  } catch (error) {
    // A payload kept in S3 that cannot be read now: the attempt is given back, and the message comes back.
    await releaseClaim(engine.store, claimed.taskId, token, engine.now(), claimed).catch(() => false);
    throw error;
  }
}

/**
 * No definition to run: the message came before its record (enqueue writes
 * both at once), or its enqueue failed and stopped the task, or the task
 * expired. Stopped or superseded: acknowledged. Otherwise it comes back, and
 * redrive ends in the DLQ if the record never appears.
 */
async function withoutRecord(batch: Batch, message: TaskMessage, receiveCount: number): Promise<MessageOutcome> {
  const state = await batch.engine.store.getState(message.taskId);
  // Stryker disable next-line OptionalChaining: without a state, state.stopped throws, and processMessage's catch hands the message back after the same backoff (only its log line differs)
  if (state?.stopped || (state && state.run > message.run)) return ack;
  return handBack(orphanBackoffSeconds(receiveCount));
}

/** Why a claim did not take the task (`state`, as its condition found it), and what that means for its message. */
async function notClaimed(batch: Batch, loaded: LoadedTask, message: TaskMessage, state: StateItem | undefined): Promise<MessageOutcome> {
  const { engine } = batch;
  const nowMs = engine.now().getTime();
  if (!state || state.run !== message.run) {
    engine.logger.info('Message skipped: it belongs to another run', { taskId: message.taskId, run: message.run, status: state?.status });
    return ack;
  }
  switch (state.status) {
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
    case 'WAITING': // a workflow's own record (lib/workflows): nothing runs under it
      engine.logger.info('Message skipped: the task has finished', { taskId: message.taskId, run: message.run, status: state.status });
      return ack;
    case 'RETRYING':
      // Early: it waits out the rest of the task's backoff.
      return handBack(((state.claimableAt ?? nowMs) - nowMs) / 1000);
    case 'RUNNING':
      if ((state.claimableAt ?? 0) > nowMs) {
        // Another attempt holds the task. Keep the message until its lease ends: if that attempt never reports, this takes over.
        return handBack((state.claimableAt! - nowMs) / 1000 + 1);
      }
      // Its attempt was asked to stop and then vanished: nobody is left to record the cancel but this message.
      if (state.cancelRequestedAt !== undefined) return cancelAbandoned(batch, message);
      if (state.attempts >= state.maxAttempts) {
        const error = { type: 'AttemptsExhausted', message: 'The last attempt did not report an outcome (worker crashed or timed out)' };
        return failRun(batch, loaded, message, error, () => handBack(1));
      }
      return handBack(1);
    case 'SCHEDULED': // never stored: a PENDING task whose runAt has not come
    case 'PENDING':
      // A debounced task whose window is still open waits for it to close, without spending receives.
      if (loaded.task.debounce && (state.claimableAt ?? 0) > nowMs) return waitFor(batch, loaded, message, (state.claimableAt! - nowMs) / 1000);
      return handBack(1); // a claim raced with this one; the next delivery settles it
  }
}

/** Ends a run CANCELLED whose attempt was asked to stop and whose lease then ended (its worker is gone). */
async function cancelAbandoned(batch: Batch, message: TaskMessage): Promise<MessageOutcome> {
  const error = { type: 'TaskCancelled', message: 'Cancelled while running; the attempt never reported (its worker was gone)' };
  const ended = await endCancelled(batch.engine.store, message.taskId, message.run, batch.engine.now(), error);
  if (!ended) return handBack(1);
  batch.engine.logger.info('Task cancelled', { taskId: message.taskId, run: message.run });
  batch.counts.cancelled++;
  return ack;
}

/** Lets the message's task wait `seconds` (lib/control/requeue.ts). */
async function waitFor(batch: Batch, loaded: LoadedTask, message: TaskMessage, seconds: number): Promise<MessageOutcome> {
  const wait = await requeue(batch.engine, loaded.task.priority, message, seconds, {});
  return wait.requeued ? ack : handBack(wait.seconds);
}

/** Ends the message's run FAILED; if the task was not in a state to fail, `otherwise` says what to do. */
async function failRun(batch: Batch, loaded: LoadedTask, message: TaskMessage, error: TaskError, otherwise: () => MessageOutcome): Promise<MessageOutcome> {
  const failed = await markTaskFailed(batch.engine.store, loaded.task, message.run, error, batch.engine.now());
  if (!failed) return otherwise();
  batch.engine.logger.error('Task failed', { taskId: message.taskId, run: message.run, error });
  batch.engine.metrics?.failed(loaded.task.name);
  batch.counts.failed++;
  return ack;
}

/** Where a claimed attempt came from: its message, and the trace it is part of. */
type AttemptSource = Pick<AttemptStart, 'trace' | 'messageId' | 'queueArn'> & { message: TaskMessage };

/** Runs one claimed attempt and records its outcome; `runsAt` is when the task could first run (after its delay). No payload: its object is gone. */
async function runAttempt(batch: Batch, task: TaskDefinition, claimed: StateItem, payloadJson: string | undefined, runsAt: number, source: AttemptSource): Promise<MessageOutcome> {
  const { engine } = batch;
  const attempt = claimed.attempts;
  const startedAt = engine.now();
  // Waiting (for a first attempt) starts when the task could first run: after its delay, if it had one.
  const waited = attempt === 1 && claimed.run === 1 ? { queueWaitMs: startedAt.getTime() - runsAt } : {};
  const span = startAttemptSpan({ ...source, taskId: claimed.taskId, name: task.name, run: claimed.run, attempt, maxAttempts: claimed.maxAttempts, attemptLog: claimed.attemptLog, ...waited });
  const traced = span.traceId ? { traceId: span.traceId } : {};
  const logger = engine.logger.createChild({ persistentKeys: { taskId: claimed.taskId, taskName: task.name, run: claimed.run, attempt, ...traced } });
  if (waited.queueWaitMs !== undefined) engine.metrics?.queueWait(task.name, waited.queueWaitMs);
  // At INFO, an attempt is one line, when it ends.
  logger.debug('Task started', waited);

  const controller = new AbortController();
  // ctx.progress, and a client's cancel noticed while the handler runs (lib/control).
  const control = controlAttempt(engine, claimed, controller, logger);
  let outcome =
    payloadJson === undefined ? payloadGone() : await span.run(() => runHandler(task, claimed, JSON.parse(payloadJson) as unknown, logger, controller, control));
  const extra = await control.finish();
  // A result over the inline threshold goes to S3 before the outcome names it; if it cannot, the attempt failed.
  let recorded: RecordedResult = { resultJson: 'null' };
  if (outcome.ok) {
    const stored = await storeResult(engine, claimed, outcome.result);
    if (stored.ok) recorded = stored.result;
    else outcome = { ok: false, error: stored.error, cause: stored.cause, timedOut: false, retryable: true };
  }
  const finishedAt = engine.now();
  const entry: AttemptRecord = {
    attempt,
    run: claimed.run,
    startedAt: startedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    outcome: outcome.ok ? 'succeeded' : outcome.timedOut ? 'timed_out' : outcome.cancelled ? 'cancelled' : 'failed',
    ...(outcome.ok ? {} : { error: briefError(outcome.error) }),
    ...span.logFields,
  };

  if (outcome.ok) {
    span.end({ outcome: entry.outcome, status: 'SUCCEEDED' });
    const owned = await finishAttempt(engine.store, claimed, entry, { status: 'SUCCEEDED', ...recorded }, finishedAt, extra);
    logger.info(owned ? 'Task succeeded' : 'Task succeeded, but another attempt owns it now; outcome not recorded', { durationMs: entry.durationMs, ...waited });
    if (owned) {
      engine.metrics?.attemptFinished(task.name, 'succeeded', entry.durationMs);
      batch.counts.succeeded++;
    }
    return ack;
  }
  if (outcome.cancelled) {
    span.end({ outcome: entry.outcome, status: 'CANCELLED' });
    const owned = await finishAttempt(engine.store, claimed, entry, { status: 'CANCELLED', error: outcome.error }, finishedAt, extra);
    logger.info(owned ? 'Task cancelled' : 'Task cancelled, but another attempt owns it now; outcome not recorded', { durationMs: entry.durationMs });
    if (owned) batch.counts.cancelled++;
    return ack;
  }
  const retryable = outcome.retryable && attempt < claimed.maxAttempts;
  const delaySeconds = retryDelaySeconds(attempt, task.backoff);
  const next: AttemptOutcome = retryable
    ? { status: 'RETRYING', error: outcome.error, nextAttemptAt: finishedAt.getTime() + Math.ceil(delaySeconds * 1000) }
    : { status: 'FAILED', error: outcome.error };
  span.end({ outcome: entry.outcome, status: next.status, error: outcome.error });
  // A retried attempt is a warning: the task has not failed yet, and only its end should page anyone.
  const details = { durationMs: entry.durationMs, ...waited, error: loggableError(outcome.cause) };
  if (retryable) logger.warn('Task attempt failed; will retry', details);
  else logger.error('Task failed', details);
  const owned = await finishAttempt(engine.store, claimed, entry, next, finishedAt, extra);
  // An attempt that lost the task (its lease was taken over, its run retried) leaves the retry to the new owner.
  if (!owned) return ack;
  if (owned === 'CANCELLED') {
    // A client asked to cancel the run while this attempt failed: no retry.
    batch.counts.cancelled++;
    return ack;
  }
  engine.metrics?.attemptFinished(task.name, retryable ? 'retrying' : 'failed', entry.durationMs);
  // Retries are not counted in the table: a batch of retries alone then writes no counter, so a retry costs its two state writes only.
  if (!retryable) {
    batch.counts.failed++;
    return ack;
  }
  // A rate token the message held was spent by this attempt: the retry goes as a fresh message without it, to take its own (lib/control).
  if (source.message.tokenAt === undefined) return handBack(delaySeconds);
  const wait = await requeue(engine, claimed.priority, source.message, delaySeconds, { tokenAt: undefined });
  return wait.requeued ? ack : handBack(delaySeconds);
}

type HandlerOutcome = { ok: true; result: unknown } | { ok: false; error: TaskError; cause: unknown; timedOut: boolean; cancelled?: boolean; retryable: boolean };

/** A payload kept in S3 whose object is gone (its record outlived it): no attempt can run. */
function payloadGone(): HandlerOutcome {
  const error = { type: 'PayloadNotFound', message: 'The payload kept in S3 is gone (expired by the bucket’s lifecycle rule)' };
  return { ok: false, error, cause: new Error(error.message), timedOut: false, retryable: false };
}

async function runHandler(task: TaskDefinition, state: StateItem, payload: unknown, logger: Engine['logger'], controller: AbortController, control: AttemptControl): Promise<HandlerOutcome> {
  const parsed = z.safeParse(task.payload, payload);
  if (!parsed.success) {
    // The schema changed since the task was enqueued: no retry can fix it.
    const error = { type: 'InvalidPayload', message: 'The stored payload no longer matches the task schema' };
    return { ok: false, error, cause: parsed.error, timedOut: false, retryable: false };
  }
  const timedOut = new TaskTimeoutError(state.timeoutSeconds);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(timedOut);
      reject(timedOut);
    }, state.timeoutSeconds * 1000);
  });
  try {
    const ctx = { taskId: state.taskId, attempt: state.attempts, maxAttempts: state.maxAttempts, signal: controller.signal, logger, progress: control.progress };
    const result = await Promise.race([Promise.resolve().then(() => task.run(parsed.data, ctx)), timeout, control.cancelled]);
    return checkResult(task, result);
  } catch (cause) {
    // A cancel aborted the signal: whatever the handler threw on it (or nothing yet), the attempt ends cancelled.
    if (controller.signal.reason instanceof TaskCancelledError) {
      return { ok: false, error: { type: 'TaskCancelled', message: controller.signal.reason.message }, cause, timedOut: false, cancelled: true, retryable: false };
    }
    // Compared by identity: whatever the task threw is only ever read through toTaskError and loggableError, which cannot throw.
    return { ok: false, error: toTaskError(cause), cause, timedOut: cause === timedOut, retryable: true };
  } finally {
    clearTimeout(timer);
  }
}

function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes?.ApproximateReceiveCount ?? 1);
}

async function setVisibility(engine: Engine, record: SQSRecord, seconds: number): Promise<void> {
  try {
    const queueUrl = await engine.queue.urlForArn(record.eventSourceARN);
    await engine.queue.changeVisibility(queueUrl, record.receiptHandle, seconds);
  } catch (error) {
    // The message still comes back, after the queue's own visibility timeout.
    engine.logger.warn('Could not set when the message comes back', { messageId: record.messageId, error: loggableError(error) });
  }
}
