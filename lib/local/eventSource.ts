import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { chunksOf } from '../chunks';

/** One `sqs` event of a function in serverless.yml, resolved against the local queue. */
export interface EventSourceMapping {
  functionName: string;
  /** The function's timeout: an invocation gets that long (plus a margin) to answer. */
  functionTimeoutSeconds: number;
  queueUrl: string;
  queueArn: string;
  region: string;
  /** Up to 10,000 on AWS; gathered ten per ReceiveMessage. */
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  /** Concurrent batches (AWS's `maximumConcurrency`). */
  maximumConcurrency: number;
  reportBatchItemFailures: boolean;
}

/** What invoking the function gave back: its payload, or that it threw or timed out. */
export type InvokeResult = { ok: true; payload: unknown } | { ok: false; error: string };

export type Invoke = (functionName: string, event: SQSEvent, timeoutSeconds: number) => Promise<InvokeResult>;

/** Everything observable about one delivered batch, for logs and tests. */
export interface BatchReport {
  functionName: string;
  size: number;
  deleted: number;
  /** Messages left for SQS to deliver again (after their visibility timeout). */
  retried: number;
  error?: string;
}

/** What an event source reports; every callback is optional. */
export interface EventSourceHandlers {
  /** After each delivered batch. */
  onBatch?(report: BatchReport): void;
  /** Once when receiving starts failing (SQS down or unreachable); polling retries with backoff. */
  onOutage?(error: unknown): void;
  /** Once when receiving works again after an outage. */
  onRecovered?(): void;
  /** Anything else that went wrong: a failed delete, an error while delivering. */
  onError?(error: unknown): void;
}

/** For tests: a shorter long poll lets an idle poller notice sooner that traffic is low. */
export interface EventSourceTuning {
  longPollSeconds?: number;
}

const MAX_RECEIVE = 10;
const LONG_POLL_SECONDS = 20;
/**
 * AWS's scaling of an SQS mapping: five concurrent batches when messages
 * arrive, up to 300 more a minute while messages remain, back to five when
 * traffic is low (services-sqs-scaling in the Lambda guide). Starting at the
 * maximum instead splits a moderate load into many small batches, each an
 * invocation, a read and a delete of its own.
 */
const INITIAL_POLLERS = 5;
const SCALE_UP_EVERY_MS = 60_000 / 300;
/** Backoff between failed receives, doubling from the first to the last. */
const OUTAGE_BACKOFF_MS = [500, 30_000] as const;

/**
 * AWS Lambda's SQS event source, for one mapping: long-polls, gathers a batch
 * within the batching window, invokes the function, and deletes exactly the
 * messages the function did not report as failed. A thrown error, a timeout
 * or an invalid response leaves the whole batch to come back after its
 * visibility timeout, as on AWS; redrive to the DLQ is the queue's own.
 * Owns its pollers, one batch in flight each, scaled as AWS scales them
 * between five and `maximumConcurrency`; `stop()` lets the batches in flight finish.
 */
export class SqsEventSource {
  private readonly abort = new AbortController();
  private readonly pollers = new Set<Promise<void>>();
  /** Pollers that have not decided to stop (a stopping one leaves `pollers` a tick later). */
  private polling = 0;
  private inFlight = 0;
  private lastScaleUp = 0;
  /** The most pollers that ran at once, for tests and the banner's figures. */
  peakPollers = 0;
  /** Consecutive failed receives across this mapping's pollers: 0 when SQS answers. */
  private failures = 0;

  constructor(
    private readonly sqs: SQSClient,
    readonly mapping: EventSourceMapping,
    private readonly invoke: Invoke,
    private readonly handlers: EventSourceHandlers = {},
    private readonly tuning: EventSourceTuning = {},
  ) {}

  private get longPollSeconds(): number {
    return this.tuning.longPollSeconds ?? LONG_POLL_SECONDS;
  }

  start(): void {
    // Every poller's receive listens on the one abort signal.
    setMaxListeners(this.mapping.maximumConcurrency * 2 + 10, this.abort.signal);
    this.lastScaleUp = Date.now();
    for (let i = 0; i < this.floor; i++) this.addPoller();
  }

  /** Pollers running now (each with at most one batch in flight). */
  get pollerCount(): number {
    return this.polling;
  }

  /** Pollers kept when traffic is low. */
  private get floor(): number {
    return Math.min(INITIAL_POLLERS, this.mapping.maximumConcurrency);
  }

  private addPoller(): void {
    this.polling++;
    const poller: Promise<void> = this.poll().finally(() => this.pollers.delete(poller));
    this.pollers.add(poller);
    this.peakPollers = Math.max(this.peakPollers, this.polling);
  }

  /** Messages remain (a batch came back full): one more poller, at AWS's pace, up to the maximum. */
  private scaleUp(): void {
    const now = Date.now();
    if (this.abort.signal.aborted || this.polling >= this.mapping.maximumConcurrency || now - this.lastScaleUp < SCALE_UP_EVERY_MS) return;
    this.lastScaleUp = now;
    this.addPoller();
  }

  /** Batches being invoked right now. */
  get busy(): number {
    return this.inFlight;
  }

  /** Stops receiving; resolves once every batch already received has been invoked and settled. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.pollers);
  }

  private async poll(): Promise<void> {
    while (!this.abort.signal.aborted) {
      let messages: Message[];
      try {
        messages = await this.receiveBatch();
      } catch (error) {
        if (this.abort.signal.aborted) return;
        if (this.failures++ === 0) this.handlers.onOutage?.(error);
        const [first, last] = OUTAGE_BACKOFF_MS;
        const delay = Math.min(last, first * 2 ** Math.min(this.failures - 1, 10));
        await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if (this.failures > 0) {
        this.failures = 0;
        this.handlers.onRecovered?.();
      }
      if (messages.length === 0) {
        // A whole long poll with nothing: traffic is low, back towards the floor.
        if (this.polling > this.floor) {
          this.polling--;
          return;
        }
        continue;
      }
      if (messages.length >= this.mapping.batchSize) this.scaleUp();
      this.inFlight++;
      try {
        this.handlers.onBatch?.(await this.deliver(messages));
      } catch (error) {
        this.handlers.onError?.(error);
      } finally {
        this.inFlight--;
      }
    }
  }

  /**
   * The first receive long-polls for one message; then the batch is gathered
   * until it is full or the batching window closes (with no window, one more
   * receive takes whatever is already there). Why one first: a long poll for
   * ten on local-aws-sqs waits for all ten or the full 20 seconds, where SQS
   * returns as soon as there is any.
   */
  private async receiveBatch(): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowSeconds } = this.mapping;
    const batch = await this.receive(1, this.longPollSeconds);
    const closesAt = Date.now() + maximumBatchingWindowSeconds * 1000;
    while (batch.length > 0 && batch.length < batchSize && !this.abort.signal.aborted) {
      // Long polls wait whole seconds: rounding up may close the window up to a second late, rounding down would not gather at all.
      const waitSeconds = Math.max(0, Math.min(this.longPollSeconds, Math.ceil((closesAt - Date.now()) / 1000)));
      let more: Message[];
      try {
        more = await this.receive(Math.min(batchSize - batch.length, MAX_RECEIVE), waitSeconds);
      } catch (error) {
        // Messages already in hand are delivered, not left invisible until their timeout.
        if (!this.abort.signal.aborted) this.handlers.onError?.(error);
        break;
      }
      for (const message of more) {
        // A visibility timeout shorter than the window hands the same message out twice; keep its newest receipt.
        const seen = batch.findIndex((m) => m.MessageId === message.MessageId);
        if (seen >= 0) batch[seen] = message;
        else batch.push(message);
      }
      if (Date.now() >= closesAt || (waitSeconds === 0 && more.length === 0)) break;
    }
    return batch;
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.mapping.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return out.Messages ?? [];
  }

  private async deliver(messages: Message[]): Promise<BatchReport> {
    const { functionName, reportBatchItemFailures } = this.mapping;
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, this.mapping)) };
    const report: BatchReport = { functionName, size: messages.length, deleted: 0, retried: messages.length };
    const result = await this.invoke(functionName, event, this.mapping.functionTimeoutSeconds);
    if (!result.ok) return { ...report, error: result.error };

    let failedIds: Set<string>;
    if (reportBatchItemFailures) {
      const failures = batchItemFailures(result.payload, event);
      if (failures instanceof Error) return { ...report, error: failures.message };
      failedIds = failures;
    } else {
      failedIds = new Set();
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId!));
    await this.delete(done);
    return { ...report, deleted: done.length, retried: messages.length - done.length };
  }

  private async delete(messages: Message[]): Promise<void> {
    for (const chunk of chunksOf(messages, MAX_RECEIVE)) {
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.mapping.queueUrl,
          Entries: chunk.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      if (out.Failed?.length) this.handlers.onError?.(new Error(`SQS did not delete ${out.Failed.length} message(s): ${out.Failed[0]!.Message}`));
    }
  }
}

/**
 * Reads a ReportBatchItemFailures response the way Lambda does: no response
 * or an empty list means all succeeded; an identifier that is empty or not in
 * the batch makes the whole batch a failure.
 */
export function batchItemFailures(payload: unknown, event: SQSEvent): Set<string> | Error {
  if (payload === null || payload === undefined || payload === '') return new Set();
  const list = (payload as Partial<SQSBatchResponse>).batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return new Error('batchItemFailures is not a list; the whole batch will be retried');
  const ids = new Set(event.Records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const item of list) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return new Error(`Invalid itemIdentifier ${JSON.stringify(id)}; the whole batch will be retried`);
    failed.add(id);
  }
  return failed;
}

/** An SQS message in the shape Lambda hands to a function. */
function toRecord(message: Message, mapping: EventSourceMapping): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...attributes,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          stringValue: value.StringValue,
          binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: mapping.queueArn,
    awsRegion: mapping.region,
  };
}
