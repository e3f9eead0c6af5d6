import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { consumerBudget, withBudget, type DeadlineSource } from './deadline';
import type { Engine } from './engine';
import { parseMessage, toMessage } from './message';
import { runsAtOf } from './schedules/runAt';
import { markTaskFailed } from './store/claims';
import type { TaskItem } from './store/items';
import { addCounts, noCounts } from './store/counters';
import { loggableError } from './taskError';
import { advanceWorkflow } from './workflows/advance';

/** SQS's longest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

const DELIVERY_EXHAUSTED = {
  type: 'DeliveryExhausted',
  message: 'The task message was moved to the dead-letter queue after repeated failed deliveries',
};

/**
 * Consumes a dead-letter queue. A message got here because its deliveries ran
 * out; its run's attempts may not have: a run with attempts left is sent back
 * to its queue (MAX_REDRIVES times at most), so an outage, however long,
 * fails no task that never ran. Otherwise the run is marked FAILED with the
 * reason, so a client polling it sees an end instead of PENDING for ever. A
 * message is dropped (logged) when it names no task, when its task has no
 * record (an enqueue that was stopped, or a message that was never ours), or
 * when its run is over: finished, or superseded by a retry, which a message
 * of an earlier run must never touch. A task still running under a live
 * lease is left for later: its attempt records its own outcome. While
 * DynamoDB cannot be read, every letter is left for later.
 */
export async function processDeadLetters(engine: Engine, event: SQSEvent, context?: DeadlineSource): Promise<SQSBatchResponse> {
  // A call still unanswered near the deadline is given up: its letter comes back, instead of the whole batch timing out.
  return context ? withBudget(consumerBudget(context), () => consume(engine, event)) : consume(engine, event);
}

async function consume(engine: Engine, event: SQSEvent): Promise<SQSBatchResponse> {
  const counts = noCounts();
  try {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    await Promise.all(
      event.Records.map(async (message) => {
        try {
          const outcome = await deadLetter(engine, message);
          if (outcome === 'later') failures.push({ itemIdentifier: message.messageId });
          if (outcome === 'failed') counts.failed++;
        } catch (error) {
          engine.logger.error('Could not record a dead-lettered task; will retry', { messageId: message.messageId, error: loggableError(error) });
          failures.push({ itemIdentifier: message.messageId });
        }
      }),
    );
    await addCounts(engine.store, counts, engine.now()).catch((error: unknown) => engine.logger.warn('Could not update the task counters', { error: loggableError(error) }));
    return { batchItemFailures: failures };
  } finally {
    engine.metrics?.flush();
  }
}

// Stryker disable next-line StringLiteral: the caller acts on 'later' and 'failed' only; any other answer is a drop
const DROPPED = 'dropped';

/**
 * Times a run's message is sent back from the dead-letter queue before its run
 * ends FAILED: each return buys the queue's 50 receives again (13.6 hours of
 * outage backoff). It bounds a message that never gets to a claim (a crash
 * before any, every time); an outage that keeps DynamoDB unreadable keeps
 * the letter here instead, untouched, for as long as the queue retains it.
 */
export const MAX_REDRIVES = 3;

/** What became of one dead letter: its task marked FAILED, sent back to its queue, nothing to do, or try again later. */
async function deadLetter(engine: Engine, message: SQSRecord): Promise<'failed' | 'redriven' | 'dropped' | 'later'> {
  const parsed = parseMessage(message.body);
  // Stryker disable next-line OptionalChaining: SQS events always carry attributes; the count is only logged
  const receives = message.attributes?.ApproximateReceiveCount;
  if (!parsed.ok) {
    engine.logger.error('Dead-lettered message is not a task message; dropped', { messageId: message.messageId, body: message.body.slice(0, 200) });
    return DROPPED;
  }
  const { taskId, run, redrive = 0 } = parsed.message;
  const { task, state } = await engine.store.getItems(taskId);
  if (!task) {
    engine.logger.warn('Dead-lettered message has no task record; dropped', { taskId });
    return DROPPED;
  }
  // Never touched: PENDING run 1, claimable once the task's delay is over.
  // Stryker disable next-line StringLiteral: the status is only compared with the finished ones and RUNNING, which PENDING is not
  const current = state ?? { status: 'PENDING', run: 1, attempts: 0, maxAttempts: task.maxAttempts, claimableAt: runsAtOf(task) };
  if (current.run !== run || current.status === 'SUCCEEDED' || current.status === 'FAILED' || current.status === 'CANCELLED') {
    engine.logger.info('Dead-lettered message of a run that is over; dropped', { taskId, run, currentRun: current.run, status: current.status });
    // A workflow's step may have ended without moving its workflow on (its message ran out of deliveries doing that).
    return (await movedOn(engine, task)) ? DROPPED : 'later';
  }
  // A running attempt reports its own outcome; its lease says when to look again.
  const nowMs = engine.now().getTime();
  if (current.status === 'RUNNING' && (current.claimableAt ?? 0) > nowMs) return 'later';
  if (current.attempts < current.maxAttempts && redrive < MAX_REDRIVES) {
    // Its deliveries ran out, not its attempts (an outage, a crash before the claim): the run goes back to its queue.
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(((current.claimableAt ?? 0) - nowMs) / 1000)));
    await engine.queue.send(toMessage(task, run, delaySeconds, redrive + 1));
    engine.logger.warn('Dead-lettered task sent back to its queue', { taskId, run, name: task.name, receives, redrive: redrive + 1 });
    // Stryker disable next-line StringLiteral: only 'later' and 'failed' change what the batch answers or counts
    return 'redriven';
  }
  const failed = await markTaskFailed(engine.store, task, run, DELIVERY_EXHAUSTED, engine.now());
  // It moved between the read and the write (claimed, finished, retried): look again on the next delivery.
  if (!failed) return 'later';
  engine.logger.error('Dead-lettered task', { taskId, run, name: task.name, receives });
  engine.metrics?.failed(task.name);
  return (await movedOn(engine, task)) ? 'failed' : 'later';
}

/** A workflow's step that has ended moves its workflow on (lib/workflows): false if that cannot be done now (the letter comes back). */
async function movedOn(engine: Engine, task: TaskItem): Promise<boolean> {
  if (!task.workflow) return true;
  try {
    await advanceWorkflow(engine, task);
    return true;
  } catch (error) {
    engine.logger.warn('Workflow could not move on from its dead-lettered step; the letter comes back', { taskId: task.taskId, error: loggableError(error) });
    return false;
  }
}
