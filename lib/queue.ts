import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { chunksOf } from './chunks';
import { boundCalls } from './deadline';
import { DependencyUnavailableError } from './errors';
import { messageBody, type OutgoingMessage } from './message';
import type { Priority } from './types';

/** SQS's cap on entries per SendMessageBatch. */
const SEND_BATCH_SIZE = 10;
/** Rounds of SendMessageBatch for entries SQS did not take (its own retries cover a failed call, not failed entries). */
const SEND_BATCH_ROUNDS = 3;
/** SQS's cap on a message's visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** What SQS reports of a queue's messages; approximate by its nature. */
export interface QueueDepth {
  /** Ready to be received now. */
  visible: number;
  /** Sent with a delay that has not passed. */
  delayed: number;
  /** Received and not yet deleted: running, or handed back to wait out a backoff or a lease. */
  inFlight: number;
}

/** SQS access for task messages. The only place that knows SQS's names and errors. */
export class TaskQueue {
  private readonly urlsByName = new Map<string, string>();

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Record<Priority, string>,
  ) {
    boundCalls(client);
    for (const url of Object.values(queueUrls)) this.urlsByName.set(queueNameOf(url), url);
  }

  async send(out: OutgoingMessage): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrls[out.priority],
          MessageBody: messageBody(out.message),
          DelaySeconds: out.delaySeconds || undefined,
        }),
      );
    } catch (error) {
      throw new DependencyUnavailableError('sqs', 'SendMessage', error);
    }
  }

  /**
   * Sends many messages, grouped by queue, ten per SendMessageBatch, the
   * batches in parallel; entries SQS did not take are sent again, twice at
   * most. Returns the task ids that were not sent, with why.
   */
  async sendMany(messages: OutgoingMessage[]): Promise<Map<string, DependencyUnavailableError>> {
    const failed = new Map<string, DependencyUnavailableError>();
    const chunks = (['high', 'default'] as const).flatMap((priority) =>
      chunksOf(
        messages.filter((m) => m.priority === priority),
        SEND_BATCH_SIZE,
      ).map((chunk) => ({ priority, chunk })),
    );
    await Promise.all(
      chunks.map(async ({ priority, chunk }) => {
        let pending = chunk;
        for (let round = 0; pending.length > 0 && round < SEND_BATCH_ROUNDS; round++) {
          if (round > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
          const refused = await this.sendBatch(priority, pending);
          // What this round sent is no longer failed; what it refused is, with this round's reason.
          for (const m of pending) failed.delete(m.message.taskId);
          for (const [taskId, error] of refused) failed.set(taskId, error);
          // Only what SQS refused for its own reasons is worth another try.
          pending = pending.filter((m) => refused.get(m.message.taskId)?.retryable);
        }
      }),
    );
    return failed;
  }

  private async sendBatch(priority: Priority, chunk: OutgoingMessage[]): Promise<Map<string, DependencyUnavailableError>> {
    const refused = new Map<string, DependencyUnavailableError>();
    try {
      const out = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrls[priority],
          Entries: chunk.map((m, i) => ({ Id: String(i), MessageBody: messageBody(m.message), DelaySeconds: m.delaySeconds || undefined })),
        }),
      );
      for (const f of out.Failed ?? []) {
        refused.set(chunk[Number(f.Id)]!.message.taskId, new DependencyUnavailableError('sqs', `SendMessageBatch entry (${f.Code ?? 'unknown'})`, f.Message, !f.SenderFault));
      }
    } catch (cause) {
      // The SDK has already retried the call itself.
      const error = new DependencyUnavailableError('sqs', 'SendMessageBatch', cause, false);
      for (const m of chunk) refused.set(m.message.taskId, error);
    }
    return refused;
  }

  /** Sets when a received message is delivered again: a retry's backoff, or the end of a lease. */
  async changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(seconds))),
        }),
      );
    } catch (error) {
      throw new DependencyUnavailableError('sqs', 'ChangeMessageVisibility', error);
    }
  }

  /** How many messages each queue holds, as SQS approximates them. */
  async depth(): Promise<Record<Priority, QueueDepth>> {
    const entries = await Promise.all(
      (Object.entries(this.queueUrls) as Array<[Priority, string]>).map(async ([priority, url]) => {
        try {
          const out = await this.client.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          );
          const count = (name: string) => Number(out.Attributes?.[name as keyof typeof out.Attributes] ?? 0);
          return [
            priority,
            { visible: count('ApproximateNumberOfMessages'), delayed: count('ApproximateNumberOfMessagesDelayed'), inFlight: count('ApproximateNumberOfMessagesNotVisible') },
          ] as const;
        } catch (error) {
          throw new DependencyUnavailableError('sqs', 'GetQueueAttributes', error);
        }
      }),
    );
    return Object.fromEntries(entries) as Record<Priority, QueueDepth>;
  }

  /** The URL of the queue an event record came from (its ARN names the queue). */
  async urlForArn(arn: string): Promise<string> {
    const name = queueNameOfArn(arn);
    const known = this.urlsByName.get(name);
    if (known) return known;
    try {
      const out = await this.client.send(new GetQueueUrlCommand({ QueueName: name }));
      if (!out.QueueUrl) throw new Error(`no URL for queue ${name}`);
      this.urlsByName.set(name, out.QueueUrl);
      return out.QueueUrl;
    } catch (error) {
      throw new DependencyUnavailableError('sqs', 'GetQueueUrl', error);
    }
  }
}

/** A queue's name, from its URL. */
export function queueNameOf(url: string): string {
  return url.split('/').at(-1) ?? url;
}

/** A queue's name, from its ARN. */
export function queueNameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}
