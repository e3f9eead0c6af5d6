import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { processBatch } from '../../lib/worker';
import {
  SqsEventSource,
  batchItemFailures,
  type BatchReport,
  type EventSourceHandlers,
  type EventSourceTuning,
  type EventSourceMapping,
  type Invoke,
} from '../../lib/local/eventSource';
import { flaky, sleep } from '../../lib/tasks/examples';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { lambdaContext, receiveAll } from '../support/events';

let aws: LocalAws;
const running: SqsEventSource[] = [];
let counter = 0;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(async () => aws.close());

async function queue(attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: `es-${process.pid}-${++counter}`, Attributes: { VisibilityTimeout: '2', ...attributes } }));
  const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function send(sqs: SQSClient, url: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((b, n) => ({ Id: String(n), MessageBody: b })) }));
  }
}

function start(
  q: { url: string; arn: string },
  invoke: Invoke,
  mapping: Partial<EventSourceMapping> = {},
  reports: BatchReport[] = [],
  sqs: SQSClient = aws.sqs,
  handlers: EventSourceHandlers = {},
  tuning: EventSourceTuning = {},
): SqsEventSource {
  const source = new SqsEventSource(
    sqs,
    {
      functionName: 'fn',
      functionTimeoutSeconds: 30,
      queueUrl: q.url,
      queueArn: q.arn,
      region: 'us-east-1',
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 1,
      reportBatchItemFailures: true,
      ...mapping,
    },
    invoke,
    { onBatch: (r) => reports.push(r), ...handlers },
    tuning,
  );
  source.start();
  running.push(source);
  return source;
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function terminal(engine: Engine, taskId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await engine.store.get(taskId);
    if (record && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(record.status)) return record;
    if (Date.now() > deadline) return record;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function depth(url: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes!.ApproximateNumberOfMessages), inFlight: Number(Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

describe('SQS event source (local Lambda emulation)', () => {
  it('hands over real-shaped records and deletes all but the reported failures, which come back', async () => {
    const q = await queue();
    const seen: Array<{ body: string; receiveCount: string }> = [];
    let events = 0;
    start(q, async (_fn, event) => {
      events++;
      for (const r of event.Records) seen.push({ body: r.body, receiveCount: r.attributes.ApproximateReceiveCount });
      expect(event.Records[0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: q.arn, awsRegion: 'us-east-1' });
      // Fail "b" and "d" on their first delivery only.
      const failures = event.Records.filter((r) => ['b', 'd'].includes(r.body) && r.attributes.ApproximateReceiveCount === '1');
      return { ok: true, payload: { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.messageId })) } };
    });
    await send(aws.sqs, q.url, ['a', 'b', 'c', 'd', 'e']);
    await until(() => seen.length >= 7);
    await new Promise((r) => setTimeout(r, 2_500)); // anything else would have come back by now
    expect(seen.filter((s) => s.receiveCount === '1').map((s) => s.body).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(seen.filter((s) => s.receiveCount === '2').map((s) => s.body).sort()).toEqual(['b', 'd']);
    expect(seen).toHaveLength(7);
    expect(events).toBeGreaterThanOrEqual(2);
    expect(await depth(q.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('leaves the whole batch for redelivery when the function throws or times out', async () => {
    const q = await queue();
    const reports: BatchReport[] = [];
    let calls = 0;
    start(
      q,
      async () => {
        calls++;
        return calls === 1 ? { ok: false, error: 'Unhandled: [504] - Lambda timeout.' } : { ok: true, payload: { batchItemFailures: [] } };
      },
      { maximumBatchingWindowSeconds: 1 },
      reports,
    );
    await send(aws.sqs, q.url, ['1', '2', '3']);
    await until(() => reports.length >= 2 && reports.reduce((n, r) => n + r.deleted, 0) === 3);
    expect(reports[0]).toMatchObject({ size: 3, deleted: 0, retried: 3, error: expect.stringContaining('timeout') });
    expect(await depth(q.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('treats an invalid itemIdentifier as a failure of the whole batch, as Lambda does', () => {
    const event = { Records: [{ messageId: 'm1' }, { messageId: 'm2' }] } as unknown as SQSEvent;
    expect(batchItemFailures({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, event)).toEqual(new Set(['m2']));
    expect(batchItemFailures(null, event)).toEqual(new Set());
    expect(batchItemFailures({ batchItemFailures: [] }, event)).toEqual(new Set());
    expect(batchItemFailures({ batchItemFailures: [{ itemIdentifier: '' }] }, event)).toBeInstanceOf(Error);
    expect(batchItemFailures({ batchItemFailures: [{ itemIdentifier: 'other' }] }, event)).toBeInstanceOf(Error);
    expect(batchItemFailures({ batchItemFailures: 'm1' }, event)).toBeInstanceOf(Error);
  });

  it('moves a message to the DLQ after maxReceiveCount failed deliveries', async () => {
    const dlq = await queue();
    const q = await queue({ RedrivePolicy: JSON.stringify({ maxReceiveCount: 2, deadLetterTargetArn: dlq.arn }) });
    let deliveries = 0;
    start(q, async (_fn, event) => {
      deliveries += event.Records.length;
      return { ok: true, payload: { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) } };
    });
    await send(aws.sqs, q.url, ['poison']);
    const dead = await receiveAll(aws.sqs, dlq.url, 1, 15_000);
    expect(dead.Records[0]!.body).toBe('poison');
    expect(deliveries).toBe(2);
  });

  it('batches within the batching window and runs batches concurrently up to maximumConcurrency', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    const sizes: number[] = [];
    let active = 0;
    let peak = 0;
    start(
      q,
      async (_fn, event) => {
        sizes.push(event.Records.length);
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 400));
        active--;
        return { ok: true, payload: {} };
      },
      { maximumConcurrency: 3, maximumBatchingWindowSeconds: 1, batchSize: 5 },
    );
    await send(aws.sqs, q.url, Array.from({ length: 30 }, (_, i) => `m${i}`));
    await until(() => sizes.reduce((a, b) => a + b, 0) === 30 && active === 0, 20_000);
    expect(peak).toBe(3);
    expect(Math.max(...sizes)).toBe(5);
    expect(sizes.filter((s) => s === 5).length).toBeGreaterThanOrEqual(4);
  });

  it('scales as AWS does: five batches at once at first, more while batches come back full, back to five when polls come back empty', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    let active = 0;
    let peakEarly = 0;
    let peak = 0;
    let delivered = 0;
    const began = Date.now();
    const source = start(
      q,
      async (_fn, event) => {
        peak = Math.max(peak, ++active);
        if (Date.now() - began < 150) peakEarly = Math.max(peakEarly, active);
        await new Promise((r) => setTimeout(r, 300));
        active--;
        delivered += event.Records.length;
        return { ok: true, payload: {} };
      },
      { maximumConcurrency: 12, batchSize: 5 },
      [],
      aws.sqs,
      {},
      { longPollSeconds: 1 },
    );
    await send(aws.sqs, q.url, Array.from({ length: 400 }, (_, i) => `m${i}`));
    await until(() => delivered === 400, 30_000);
    expect(peakEarly).toBeLessThanOrEqual(5);
    // 400 messages in full batches of 5: pollers are added (one per 200 ms at most), never past the maximum.
    expect(source.peakPollers).toBeGreaterThan(5);
    expect(source.peakPollers).toBeLessThanOrEqual(12);
    expect(peak).toBeGreaterThan(5);
    // The queue is empty: each extra poller stops after a long poll with nothing.
    await until(() => source.pollerCount === 5, 10_000);
  });

  it('joins a message that arrives within the batching window to the batch it opened', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    const batches: string[][] = [];
    start(q, async (_fn, event) => (batches.push(event.Records.map((r) => r.body)), { ok: true, payload: {} }), { maximumBatchingWindowSeconds: 3 });
    await send(aws.sqs, q.url, ['first']);
    await new Promise((r) => setTimeout(r, 700));
    await send(aws.sqs, q.url, ['second']);
    await until(() => batches.flat().length === 2);
    expect(batches).toEqual([['first', 'second']]);
  });

  it('reports an SQS outage once, backs off while it lasts, and says when polling works again', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    // One narrow injection: the real client, failing every ReceiveMessage while `down`.
    let down = true;
    let receives = 0;
    const flaky = new SQSClient({ endpoint: aws.sqsEndpoint, region: 'us-east-1', maxAttempts: 1 });
    flaky.middlewareStack.add(
      (next) => async (args) => {
        receives++;
        if (down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return next(args);
      },
      { step: 'initialize' },
    );
    const events: string[] = [];
    const bodies: string[] = [];
    start(q, async (_fn, event) => (bodies.push(...event.Records.map((r) => r.body)), { ok: true, payload: {} }), { maximumConcurrency: 2 }, [], flaky, {
      onOutage: () => events.push('outage'),
      onRecovered: () => events.push('recovered'),
    });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(events).toEqual(['outage']);
    // Two pollers backing off from 0.5 s: a handful of attempts in 3 s, not a busy loop.
    expect(receives).toBeGreaterThanOrEqual(4);
    expect(receives).toBeLessThanOrEqual(12);
    down = false;
    await send(aws.sqs, q.url, ['after']);
    await until(() => bodies.includes('after'));
    expect(events).toEqual(['outage', 'recovered']);
    flaky.destroy();
  });

  it('stop() lets the batch in flight finish and settle before it resolves', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    let finished = false;
    let started = false;
    const source = start(q, async () => {
      started = true;
      await new Promise((r) => setTimeout(r, 1_000));
      finished = true;
      return { ok: true, payload: {} };
    });
    await send(aws.sqs, q.url, ['slow']);
    await until(() => started);
    await source.stop();
    expect(finished).toBe(true);
    expect(await depth(q.url)).toEqual({ visible: 0, inFlight: 0 });
  });
});

describe('the worker behind the event source', () => {
  let engine: Engine;
  beforeAll(async () => {
    // A visibility timeout of ten minutes: a retry seen within seconds can only come from the visibility the worker set.
    engine = await createTestEngine(aws, {}, { VisibilityTimeout: '600' });
  });

  it('backs off through message visibility: a flaky task retries within seconds and succeeds', async () => {
    const invoke: Invoke = async (_fn, event) => ({ ok: true, payload: await processBatch(engine, event, lambdaContext()) });
    const { taskId } = await enqueue(flaky, { failTimes: 2, key: 'es-backoff' }, {}, engine);
    const arn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: engine.config.queueUrls.default, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    start({ url: engine.config.queueUrls.default, arn }, invoke, { maximumConcurrency: 2 });
    const record = await terminal(engine, taskId, 20_000);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 3 });
    expect(record!.attemptLog.map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded']);
  });

  it('runs the ten tasks of one batch at once', async () => {
    const invoke: Invoke = async (_fn, event) => ({ ok: true, payload: await processBatch(engine, event, lambdaContext()) });
    const ids = await Promise.all(Array.from({ length: 10 }, () => enqueue(sleep, { ms: 1_000 }, { priority: 'high' }, engine).then((t) => t.taskId)));
    const arn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: engine.config.queueUrls.high, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const started = Date.now();
    start({ url: engine.config.queueUrls.high, arn }, invoke, { maximumConcurrency: 1, maximumBatchingWindowSeconds: 1 });
    for (;;) {
      const records = await Promise.all(ids.map((id) => engine.store.get(id)));
      if (records.every((r) => r?.status === 'SUCCEEDED')) break;
      expect(Date.now() - started).toBeLessThan(8_000);
      await new Promise((r) => setTimeout(r, 100));
    }
    // One poller: ten one-second tasks done well under the ten seconds a serial run takes.
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});
