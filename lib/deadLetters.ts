import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { markTaskFailed } from './attempts';
import type { Engine } from './engine';
import { isTaskId } from './keys';

/**
 * Consumes a dead-letter queue: each message's task is marked FAILED with the
 * reason, so a client polling it sees an end instead of PENDING for ever.
 * Messages with no task record are logged and dropped (an enqueue that was
 * rejected, or a message that was never ours). A task still running under a
 * live lease is left for later: its attempt will record its own outcome.
 */
export async function processDeadLetters(engine: Engine, event: SQSEvent): Promise<SQSBatchResponse> {
  try {
    return await markDeadLetters(engine, event);
  } finally {
    engine.metrics?.flush();
  }
}

async function markDeadLetters(engine: Engine, event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    event.Records.map(async (message) => {
      const taskId = taskIdOf(message.body);
      const receives = message.attributes?.ApproximateReceiveCount;
      if (!taskId) {
        engine.logger.error('Dead-lettered message names no task; dropped', { messageId: message.messageId, body: message.body.slice(0, 200) });
        return;
      }
      try {
        const record = await engine.store.get(taskId);
        if (!record) {
          engine.logger.warn('Dead-lettered message has no task record; dropped', { taskId });
          return;
        }
        if (record.status === 'RUNNING' && (record.leaseExpiresAt ?? 0) > engine.now().getTime()) {
          failures.push({ itemIdentifier: message.messageId });
          return;
        }
        const error = { type: 'DeliveryExhausted', message: 'The task message was moved to the dead-letter queue after repeated failed deliveries' };
        const failed = await markTaskFailed(engine.store, taskId, error, engine.now());
        engine.logger.error('Dead-lettered task', { taskId, name: record.name, markedFailed: failed !== undefined, receives });
        if (failed) engine.metrics?.failed(record.name);
      } catch (error) {
        engine.logger.error('Could not record a dead-lettered task; will retry', { taskId, error });
        failures.push({ itemIdentifier: message.messageId });
      }
    }),
  );
  return { batchItemFailures: failures };
}

function taskIdOf(body: string): string | undefined {
  try {
    const taskId = (JSON.parse(body) as { taskId?: unknown } | null)?.taskId;
    return typeof taskId === 'string' && isTaskId(taskId) ? taskId : undefined;
  } catch {
    return undefined;
  }
}
