import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DependencyUnavailableError } from './errors';
import type { Priority, TaskMessage } from './types';

/** SQS's cap on entries per SendMessageBatch. */
const SEND_BATCH_SIZE = 10;
/** SQS's cap on a message's visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface OutgoingMessage {
  message: TaskMessage;
  priority: Priority;
  delaySeconds?: number;
}

/** SQS access for task messages. The only place that knows SQS's names and errors. */
export class TaskQueue {
  private readonly urlsByName = new Map<string, string>();

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: Record<Priority, string>,
  ) {
    for (const url of Object.values(queueUrls)) this.urlsByName.set(queueNameOf(url), url);
  }

  async send(out: OutgoingMessage): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrls[out.priority],
          MessageBody: JSON.stringify(out.message),
          DelaySeconds: out.delaySeconds || undefined,
        }),
      );
    } catch (error) {
      throw new DependencyUnavailableError('sqs', 'SendMessage', error);
    }
  }

  /**
   * Sends many messages, grouped by queue, ten per SendMessageBatch, the
   * batches in parallel. Returns the task ids that were not sent, with why.
   */
  async sendMany(messages: OutgoingMessage[]): Promise<Map<string, DependencyUnavailableError>> {
    const failed = new Map<string, DependencyUnavailableError>();
    const chunks: OutgoingMessage[][] = [];
    for (const priority of ['high', 'default'] as const) {
      const ofQueue = messages.filter((m) => m.priority === priority);
      for (let i = 0; i < ofQueue.length; i += SEND_BATCH_SIZE) chunks.push(ofQueue.slice(i, i + SEND_BATCH_SIZE));
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const out = await this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.queueUrls[chunk[0]!.priority],
              Entries: chunk.map((m, i) => ({
                Id: String(i),
                MessageBody: JSON.stringify(m.message),
                DelaySeconds: m.delaySeconds || undefined,
              })),
            }),
          );
          for (const f of out.Failed ?? []) {
            const error = new DependencyUnavailableError('sqs', `SendMessageBatch entry (${f.Code ?? 'unknown'})`, f.Message, !f.SenderFault);
            failed.set(chunk[Number(f.Id)]!.message.taskId, error);
          }
        } catch (cause) {
          const error = new DependencyUnavailableError('sqs', 'SendMessageBatch', cause);
          for (const m of chunk) failed.set(m.message.taskId, error);
        }
      }),
    );
    return failed;
  }

  /** Sets when a received message is delivered again: the worker's retry backoff. */
  async changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
        }),
      );
    } catch (error) {
      throw new DependencyUnavailableError('sqs', 'ChangeMessageVisibility', error);
    }
  }

  /** The URL of the queue an event record came from (its ARN names the queue). */
  async urlForArn(arn: string): Promise<string> {
    const name = arn.split(':').at(-1) ?? '';
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

function queueNameOf(url: string): string {
  return url.split('/').at(-1) ?? url;
}
