import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { consumerBudget, withBudget, type DeadlineSource } from './deadline';
import type { Engine } from './engine';
import { parseMessage } from './message';
import { markTaskFailed } from './store/claims';
import { addCounts, noCounts } from './store/counters';
import { loggableError } from './taskError';

const DELIVERY_EXHAUSTED = {
  type: 'DeliveryExhausted',
  message: 'The task message was moved to the dead-letter queue after repeated failed deliveries',
};

/**
 * Consumes a dead-letter queue: each message's run of its task is marked
 * FAILED with the reason, so a client polling it sees an end instead of
 * PENDING for ever. A message is dropped (logged) when it names no task, when
 * its task has no record (an enqueue that was stopped, or a message that was
 * never ours), or when its run is over: finished, or superseded by a retry,
 * which a message of an earlier run must never touch. A task still running
 * under a live lease is left for later: its attempt records its own outcome.
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

/** What became of one dead letter: its task marked FAILED, nothing to do, or try again later. */
async function deadLetter(engine: Engine, message: SQSRecord): Promise<'failed' | 'dropped' | 'later'> {
  const parsed = parseMessage(message.body);
  // Stryker disable next-line OptionalChaining: SQS events always carry attributes; the count is only logged
  const receives = message.attributes?.ApproximateReceiveCount;
  if (!parsed.ok) {
    engine.logger.error('Dead-lettered message is not a task message; dropped', { messageId: message.messageId, body: message.body.slice(0, 200) });
    return DROPPED;
  }
  const { taskId, run } = parsed.message;
  const { task, state } = await engine.store.getItems(taskId);
  if (!task) {
    engine.logger.warn('Dead-lettered message has no task record; dropped', { taskId });
    return DROPPED;
  }
  // Stryker disable next-line StringLiteral: any status but a finished one or RUNNING leads to the same write
  const current = state ?? { status: 'PENDING', run: 1, claimableAt: 0 };
  if (current.run !== run || current.status === 'SUCCEEDED' || current.status === 'FAILED' || current.status === 'CANCELLED') {
    engine.logger.info('Dead-lettered message of a run that is over; dropped', { taskId, run, currentRun: current.run, status: current.status });
    return DROPPED;
  }
  // Saves a write: markTaskFailed's own condition refuses a live lease too, and the answer is then 'later' as well.
  // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,StringLiteral: only the write it saves differs
  if (current.status === 'RUNNING' && (current.claimableAt ?? 0) > engine.now().getTime()) return 'later';
  const failed = await markTaskFailed(engine.store, task, run, DELIVERY_EXHAUSTED, engine.now());
  // It moved between the read and the write (claimed, finished, retried): look again on the next delivery.
  if (!failed) return 'later';
  engine.logger.error('Dead-lettered task', { taskId, run, name: task.name, receives });
  engine.metrics?.failed(task.name);
  return 'failed';
}
