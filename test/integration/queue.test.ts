import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../lib/engine';
import { DependencyUnavailableError } from '../../lib/errors';
import { MAX_VISIBILITY_SECONDS, TaskQueue } from '../../lib/queue';
import { newTaskId } from '../../lib/keys';
import { toMessage, type OutgoingMessage } from '../../lib/message';
import { createTestEngine, dedicatedClients, startLocalAws, type LocalAws } from '../support/aws';
import { receiveAll, receiveEvent } from '../support/events';
import { installFaults, type FaultKit } from '../support/faults';

/**
 * TaskQueue against real local-aws-sqs: delays, batches per queue of at most
 * ten, which refused entries are sent again, the visibility it may set, the
 * depth it reports and the queue an event record came from.
 */
let aws: LocalAws;
let engine: Engine;
let queue: TaskQueue;
let sqs: FaultKit;
let client: SQSClient;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

/** Queues of their own, and a TaskQueue on a client with a fault kit. */
async function fresh(): Promise<void> {
  engine = await createTestEngine(aws);
  client = dedicatedClients(aws).sqs;
  sqs = installFaults(client);
  queue = new TaskQueue(client, engine.config.queueUrls);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- command inputs and outputs of any SQS command
type Io = any;

/** What SQS answers to `command`, shaped from its real answer (`send`) or in its place. */
const shapeAnswers = (command: string, shape: (input: Io, send: (input: Io) => Promise<Io>) => Promise<Io>) => sqs.add({ command, effect: 'shape', shape });

const message = (priority: 'high' | 'default' = 'default', delaySeconds = 0): OutgoingMessage => toMessage({ taskId: newTaskId(), name: 'write_log', priority }, 1, delaySeconds);

describe('TaskQueue', () => {
  it('sends a delayed message that only becomes visible after its delay', async () => {
    await fresh();
    const url = engine.config.queueUrls.default;
    await queue.send(message('default', 2));

    expect((await receiveEvent(aws.sqs, url, 10, 0)).Records).toHaveLength(0);
    expect(await queue.depth()).toMatchObject({ default: { visible: 0, delayed: 1 } });
    expect((await receiveAll(aws.sqs, url, 1, 5_000)).Records).toHaveLength(1);
  });

  it('sends many in batches of at most ten per queue, each message to its own priority', async () => {
    await fresh();
    const { high, default: normal } = engine.config.queueUrls;
    const messages = [...Array.from({ length: 12 }, () => message('high')), ...Array.from({ length: 3 }, () => message('default'))];

    expect((await queue.sendMany(messages)).size).toBe(0);

    const batches = sqs.calls.filter((c) => c.command === 'SendMessageBatch').map((c) => ({ url: c.input.QueueUrl, size: c.input.Entries.length }));
    expect(batches.sort((a, b) => b.size - a.size)).toEqual([{ url: high, size: 10 }, { url: normal, size: 3 }, { url: high, size: 2 }]);
    const highIds = (await receiveAll(aws.sqs, high, 12)).Records.map((r) => JSON.parse(r.body).taskId as string);
    expect(highIds.sort()).toEqual(messages.slice(0, 12).map((m) => m.message.taskId).sort());
    expect((await receiveAll(aws.sqs, normal, 3)).Records).toHaveLength(3);
  });

  it('sends again what SQS refused for its own reasons, three rounds in all', async () => {
    await fresh();
    const batch = [message(), message(), message()];
    const idOf = (entry: { MessageBody: string }) => JSON.parse(entry.MessageBody).taskId as string;
    const round = () => sqs.count('SendMessageBatch');
    // The first is refused in every round, the second in the first round only.
    sqs.add({ command: 'SendMessageBatch', effect: 'refuse-entries', refuse: (entry) => idOf(entry) === batch[0]!.message.taskId || (idOf(entry) === batch[1]!.message.taskId && round() === 1) });

    const failed = await queue.sendMany(batch);

    expect([...failed.keys()]).toEqual([batch[0]!.message.taskId]);
    expect(failed.get(batch[0]!.message.taskId)).toBeInstanceOf(DependencyUnavailableError);
    expect(failed.get(batch[0]!.message.taskId)).toMatchObject({ dependency: 'sqs', message: 'SQS SendMessageBatch entry (InternalError) failed', cause: 'refused (injected)', retryable: true });
    expect(sqs.calls.filter((c) => c.command === 'SendMessageBatch').map((c) => c.input.Entries.length)).toEqual([3, 2, 1]);
    const sent = (await receiveAll(aws.sqs, engine.config.queueUrls.default, 2)).Records.map((r) => JSON.parse(r.body).taskId as string);
    expect(sent.sort()).toEqual([batch[1]!.message.taskId, batch[2]!.message.taskId].sort());
  });

  it('does not send again what SQS refused as the sender’s fault', async () => {
    await fresh();
    const batch = [message(), message()];
    sqs.add({ command: 'SendMessageBatch', effect: 'refuse-entries', senderFault: true, refuse: (_entry, index) => index === 0 });

    const failed = await queue.sendMany(batch);

    expect([...failed.keys()]).toEqual([batch[0]!.message.taskId]);
    expect(failed.get(batch[0]!.message.taskId)!.retryable).toBe(false);
    expect(sqs.count('SendMessageBatch')).toBe(1);
  });

  it('reports a batch call that fails outright for every one of its messages, without sending it again', async () => {
    await fresh();
    sqs.add({ command: 'SendMessageBatch', effect: 'fail' });
    const batch = [message(), message()];

    const failed = await queue.sendMany(batch);

    expect([...failed.keys()].sort()).toEqual(batch.map((m) => m.message.taskId).sort());
    expect(failed.get(batch[0]!.message.taskId)).toMatchObject({ dependency: 'sqs', message: 'SQS SendMessageBatch failed', retryable: false });
    expect(sqs.count('SendMessageBatch')).toBe(1);
  });

  it('sets a visibility of whole seconds between 0 and SQS’s 12 hours', async () => {
    await fresh();
    const url = engine.config.queueUrls.high;
    await queue.send(message('high'));
    const [record] = (await receiveAll(aws.sqs, url, 1)).Records;
    for (const seconds of [1.2, -5, 50_000]) await queue.changeVisibility(url, record!.receiptHandle, seconds);

    expect(sqs.calls.filter((c) => c.command === 'ChangeMessageVisibility').map((c) => c.input.VisibilityTimeout)).toEqual([2, 0, MAX_VISIBILITY_SECONDS]);
    sqs.add({ command: 'ChangeMessageVisibility', effect: 'fail' });
    await expect(queue.changeVisibility(url, record!.receiptHandle, 1)).rejects.toMatchObject({ dependency: 'sqs', message: 'SQS ChangeMessageVisibility failed' });
  });

  it('finds the queue of an event record by its ARN: its own queues without a call, another one once, an unknown one as an error', async () => {
    await fresh();
    const arn = (name: string) => `arn:aws:sqs:us-east-1:123456789012:${name}`;
    const highName = engine.config.queueUrls.high.split('/').at(-1)!;
    expect(await queue.urlForArn(arn(highName))).toBe(engine.config.queueUrls.high);
    expect(sqs.count('GetQueueUrl')).toBe(0);

    const other = await createTestEngine(aws);
    const otherName = other.config.queueUrls.default.split('/').at(-1)!;
    expect(await queue.urlForArn(arn(otherName))).toBe(other.config.queueUrls.default);
    expect(await queue.urlForArn(arn(otherName))).toBe(other.config.queueUrls.default);
    expect(sqs.count('GetQueueUrl')).toBe(1);

    await expect(queue.urlForArn(arn('no-such-queue'))).rejects.toMatchObject({ dependency: 'sqs', message: 'SQS GetQueueUrl failed' });
  });

  it('reports each queue’s depth: visible, delayed and in flight', async () => {
    await fresh();
    const url = engine.config.queueUrls.high;
    // One received and not deleted (in flight for the queue's 30 s), one waiting, one delayed a minute.
    await queue.sendMany([message('high'), message('high'), message('high', 60)]);
    await receiveAll(aws.sqs, url, 1);
    sqs.add({ command: 'GetQueueAttributes', effect: 'fail', times: 1 });
    await expect(queue.depth()).rejects.toMatchObject({ dependency: 'sqs', message: 'SQS GetQueueAttributes failed' });
    const { high } = await queue.depth();
    // Approximate, as SQS says: local-aws-sqs counts a received message among the visible ones too.
    expect(high).toMatchObject({ delayed: 1, inFlight: 1 });
    expect(high.visible).toBeGreaterThanOrEqual(1);
  });

  it('sends the first round at once, and each next one after a pause of 100 then 200 ms', async () => {
    await fresh();
    const batch = [message()];
    // SQS refuses the entry for its own reasons every round.
    const times: number[] = [];
    shapeAnswers('SendMessageBatch', async (input) => {
      times.push(Date.now());
      return { Successful: [], Failed: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })), $metadata: {} };
    });

    // SQS's answers come at once here, so the clock can be the test's: the times are the pauses alone.
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    try {
      const start = Date.now();
      const sending = queue.sendMany(batch);
      await vi.runAllTimersAsync();

      expect([...(await sending).keys()]).toEqual([batch[0]!.message.taskId]);
      expect(times.map((t) => t - start)).toEqual([0, 100, 300]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('names an entry SQS refused without a code as unknown', async () => {
    await fresh();
    const batch = [message()];
    shapeAnswers('SendMessageBatch', async (input) => ({
      Successful: [],
      Failed: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, SenderFault: true, Message: 'no code' })),
      $metadata: {},
    }));

    const failed = await queue.sendMany(batch);

    expect(failed.get(batch[0]!.message.taskId)).toMatchObject({ message: 'SQS SendMessageBatch entry (unknown) failed', retryable: false });
  });

  it('takes an answer without the queue’s URL as a failure, and asks again next time', async () => {
    await fresh();
    const other = await createTestEngine(aws);
    const name = other.config.queueUrls.high.split('/').at(-1)!;
    const arn = `arn:aws:sqs:us-east-1:123456789012:${name}`;
    let withoutUrl = true;
    shapeAnswers('GetQueueUrl', async (input, send) => {
      const out = await send(input);
      return withoutUrl ? { ...out, QueueUrl: undefined } : out;
    });

    const error = await queue.urlForArn(arn).catch((e: unknown) => e);

    expect(error).toMatchObject({ dependency: 'sqs', message: 'SQS GetQueueUrl failed' });
    expect(((error as Error).cause as Error).message).toBe(`no URL for queue ${name}`);
    withoutUrl = false;
    expect(await queue.urlForArn(arn)).toBe(other.config.queueUrls.high);
    expect(sqs.count('GetQueueUrl')).toBe(2);
  });

  it('counts a queue whose attributes SQS leaves out as empty', async () => {
    await fresh();
    await queue.send(message('high'));
    shapeAnswers('GetQueueAttributes', async (input, send) => ({ ...(await send(input)), Attributes: undefined }));

    expect(await queue.depth()).toEqual({ high: { visible: 0, delayed: 0, inFlight: 0 }, default: { visible: 0, delayed: 0, inFlight: 0 } });
  });
});
