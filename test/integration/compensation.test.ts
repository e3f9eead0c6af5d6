import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Engine } from '../../lib/engine';
import { cancelTask } from '../../lib/cancel';
import { stopUnstarted } from '../../lib/compensation';
import { enqueue, enqueueMany } from '../../lib/enqueue';
import { DependencyUnavailableError } from '../../lib/errors';
import { isStateSk, type StateItem } from '../../lib/store/items';
import { defineTask } from '../../lib/task';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, storedTask } from '../support/drive';
import { internalServerError, serviceUnavailable, type FaultKit } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// Its all-or-nothing tests let a worker claim a task before the others fail.
expectErrorLogs(
  'Tasks of an all-or-nothing enqueue had already started when the others failed; they run',
);

/**
 * What a failed enqueue leaves behind (lib/compensation.ts): the task is
 * stopped, with the reason, unless a worker claimed it first; the stop itself
 * is retried through DynamoDB hiccups, with a pause that doubles, and gives up
 * (saying so) after five tries.
 */
let aws: LocalAws;
let base: Engine;
let engine: Engine;
let dynamo: FaultKit;
let sqs: FaultKit;

beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws);
});
afterAll(async () => aws.close());
beforeEach(() => {
  ({ engine, dynamo, sqs } = siblingEngine(aws, base));
});

const ran = new Set<string>();
const noted = defineTask({
  name: 'comp_noted',
  payload: z.object({ key: z.string() }),
  run: ({ key }) => {
    ran.add(key);
    return { key };
  },
});

/** The state item's PutItem, which is how a stop of a never-claimed task is written. */
const isStop = (input: { Item?: { sk?: string } }) => isStateSk(String(input.Item?.sk ?? ''));
const taskIdOf = (kit: FaultKit) => kit.calls.find((c) => c.command === 'PutItem')!.input.Item.taskId as string;

describe('a failed enqueue', () => {
  it('stops the task with the reason it was not enqueued', async () => {
    sqs.add({ command: 'SendMessage', effect: 'fail' });

    const error = await enqueue(noted, { key: 'reason' }, {}, engine).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    const record = await base.store.get(taskIdOf(dynamo));
    expect(record).toMatchObject({ status: 'CANCELLED', attempts: 0, error: { type: 'EnqueueFailed', message: 'Not enqueued: SQS SendMessage failed' } });
  });

  it('retries a stop that DynamoDB refuses, pausing 200 then 400 ms, until it lands', async () => {
    sqs.add({ command: 'SendMessage', effect: 'fail' });
    const refused = dynamo.add({ command: 'PutItem', effect: 'fail', when: isStop, times: 2, error: serviceUnavailable });
    const started = Date.now();

    await expect(enqueue(noted, { key: 'retried-stop' }, {}, engine)).rejects.toBeInstanceOf(DependencyUnavailableError);

    expect(refused.hits).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    expect(dynamo.calls.filter((c) => c.command === 'PutItem' && isStop(c.input))).toHaveLength(3);
    expect(await base.store.get(taskIdOf(dynamo))).toMatchObject({ status: 'CANCELLED', error: { type: 'EnqueueFailed' } });
  });

  it('gives up after five tries, says the task may still run, and still rejects', async () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    const logged = vi.spyOn(logger, 'error');
    engine.logger = logger;
    sqs.add({ command: 'SendMessage', effect: 'fail' });
    dynamo.add({ command: 'PutItem', effect: 'fail', when: isStop, error: internalServerError });

    await expect(enqueue(noted, { key: 'never-stopped' }, {}, engine)).rejects.toBeInstanceOf(DependencyUnavailableError);

    expect(dynamo.calls.filter((c) => c.command === 'PutItem' && isStop(c.input))).toHaveLength(5);
    const taskId = taskIdOf(dynamo);
    expect(logged).toHaveBeenCalledWith('Enqueue failed and could not be stopped: the task may still run', expect.objectContaining({ taskId }));
    // The one documented case: the record stays PENDING, with no message (docs/delivery-semantics.md).
    expect(await base.store.get(taskId)).toMatchObject({ status: 'PENDING' });
  });

  it('answers with the task when a worker claimed it before the stop: it runs', async () => {
    // The send lands and its answer is lost; a worker claims the task before the stop is written.
    sqs.add({ command: 'SendMessage', effect: 'lose-answer', after: async (input) => void (await claimById(base, JSON.parse(input.MessageBody).taskId, new Date(), 60_000)) });

    const enqueued = await enqueue(noted, { key: 'claimed-first' }, {}, engine);

    expect(enqueued).toMatchObject({ created: true, record: { status: 'RUNNING', run: 1, attempts: 1 } });
    expect(await base.store.get(enqueued.taskId)).toMatchObject({ status: 'RUNNING' });
  });
});

describe('a failed enqueueMany', () => {
  it('keeps a task a worker claimed as enqueued when items stand alone, and fails it with the rest when all or nothing', async () => {
    for (const allOrNothing of [false, true]) {
      ({ engine, dynamo, sqs } = siblingEngine(aws, base));
      let claimed = '';
      // Both messages land, a worker claims the first task, and the answer is lost: every item failed, as far as enqueueMany knows.
      sqs.add({
        command: 'SendMessageBatch',
        effect: 'lose-answer',
        after: async (input) => {
          claimed = JSON.parse(input.Entries[0].MessageBody).taskId as string;
          await claimById(base, claimed, new Date(), 60_000);
        },
      });

      const results = await enqueueMany(engine, [
        { name: 'comp_noted', payload: { key: `many-a-${allOrNothing}` } },
        { name: 'comp_noted', payload: { key: `many-b-${allOrNothing}` } },
      ], { allOrNothing });

      expect(results.map((r) => r.ok)).toEqual(allOrNothing ? [false, false] : [true, false]);
      if (results[0]!.ok) expect(results[0]!.task.taskId).toBe(claimed);
      const second = results[1]!;
      expect(second.ok ? undefined : second.error).toBeInstanceOf(DependencyUnavailableError);
      // Claimed before the stop, it runs either way; the other one never will.
      expect(await base.store.get(claimed)).toMatchObject({ status: 'RUNNING' });
      const other = JSON.parse(sqs.calls.find((c) => c.command === 'SendMessageBatch')!.input.Entries[1].MessageBody).taskId as string;
      expect(await base.store.get(other)).toMatchObject({ status: 'CANCELLED', error: { type: 'EnqueueFailed' } });
    }
  });
});

describe('enqueueMany when only its last item fails', () => {
  const three = (prefix: string) => [0, 1, 2].map((i) => ({ name: 'comp_noted', payload: { key: `${prefix}-${i}` } }));
  const idsSent = () => sqs.calls.find((c) => c.command === 'SendMessageBatch')!.input.Entries.map((e: { MessageBody: string }) => JSON.parse(e.MessageBody).taskId as string);

  it('all or nothing: fails and stops every item, each with an error', async () => {
    sqs.add({ command: 'SendMessageBatch', effect: 'refuse-entries', senderFault: true, refuse: (_entry, index) => index === 2 });

    const results = await enqueueMany(engine, three('aon-last'), { allOrNothing: true });

    expect(results.map((r) => (r.ok ? 'ok' : r.error instanceof DependencyUnavailableError))).toEqual([true, true, true]);
    for (const id of idsSent()) expect(await base.store.get(id)).toMatchObject({ status: 'CANCELLED', error: { type: 'EnqueueFailed' } });
  });

  it('item by item: the others are enqueued and created, the last one fails alone', async () => {
    sqs.add({ command: 'SendMessageBatch', effect: 'refuse-entries', senderFault: true, refuse: (_entry, index) => index === 2 });

    const results = await enqueueMany(engine, three('single-last'));

    expect(results.map((r) => (r.ok ? r.task.created : 'failed'))).toEqual([true, true, 'failed']);
    const ids = idsSent();
    expect(await base.store.get(ids[0]!)).toMatchObject({ status: 'PENDING' });
    expect(await base.store.get(ids[2]!)).toMatchObject({ status: 'CANCELLED' });
  });
});

describe('a failed enqueue that meets a client', () => {
  it('stays stopped when the client cancelled the task before the stop: the answer is still the failure', async () => {
    // The record lands; the send fails; before the stop is written, a client cancels the task it found.
    sqs.add({ command: 'SendMessage', effect: 'fail', before: async () => {
      const taskId = dynamo.calls.find((c) => c.command === 'PutItem')!.input.Item.taskId as string;
      for (let i = 0; i < 50 && !(await base.store.getItems(taskId)).task; i++) await new Promise((r) => setTimeout(r, 10));
      await cancelTask(base, taskId);
    } });

    await expect(enqueue(noted, { key: 'cancelled-first' }, {}, engine)).rejects.toBeInstanceOf(DependencyUnavailableError);

    const record = await base.store.get(taskIdOf(dynamo));
    expect(record).toMatchObject({ status: 'CANCELLED', attempts: 0 });
  });
});

/** A task's definition, and its state as `state` says (none if undefined): what a stop can meet. */
const taskIn = (state?: Partial<StateItem>) => storedTask(base, 'comp_noted', state, (taskId) => ({ key: taskId }));

describe('stopUnstarted, by what stands in the way of the stop', () => {
  const cause = new Error('send failed');

  it('stops an untouched task, with the reason whatever was thrown', async () => {
    for (const [thrown, message] of [[undefined, 'Not enqueued: undefined'], ['queue gone', 'Not enqueued: queue gone'], [cause, 'Not enqueued: send failed']] as const) {
      const task = await taskIn();

      expect(await stopUnstarted(engine, task, 1, thrown)).toEqual({ outcome: 'stopped' });
      expect(await base.store.get(task.taskId)).toMatchObject({ status: 'CANCELLED', error: { type: 'EnqueueFailed', message } });
    }
  });

  it('stops a run whose claim a worker gave back (PENDING again, no attempt): unclaimed is not stopped, and its message must run nothing', async () => {
    const task = await taskIn({ status: 'PENDING', attempts: 0, claimableAt: Date.now() });

    expect(await stopUnstarted(engine, task, 1, cause)).toEqual({ outcome: 'stopped' });

    expect(await base.store.getState(task.taskId)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed', run: 1, attempts: 0 });
  });

  it('answers started, with the state, when a worker claimed this run first', async () => {
    const task = await taskIn({ status: 'RUNNING', attempts: 1, claimableAt: Date.now() + 60_000 });

    const resolution = await stopUnstarted(engine, task, 1, cause);

    expect(resolution).toEqual({ outcome: 'started', state: expect.objectContaining({ taskId: task.taskId, status: 'RUNNING', run: 1, attempts: 1 }) });
  });

  it('answers stopped when what stands in the way is a client’s cancel, or a later run that has started', async () => {
    const cancelled = await taskIn({ status: 'CANCELLED', attempts: 0 });
    const later = await taskIn({ status: 'RUNNING', run: 2, attempts: 1, claimableAt: Date.now() + 60_000 });

    expect(await stopUnstarted(engine, cancelled, 1, cause)).toEqual({ outcome: 'stopped' });
    expect(await stopUnstarted(engine, later, 1, cause)).toEqual({ outcome: 'stopped' });
    expect(await stopUnstarted(engine, later, 1, cause, 'me')).toEqual({ outcome: 'stopped' });
    expect(await base.store.get(later.taskId)).toMatchObject({ status: 'RUNNING', run: 2 });
  });

  it('answers taken-over, with the state, when another request holds or has sent the PENDING task', async () => {
    const held = await taskIn({ dispatch: { owner: 'other', until: Date.now() + 10_000 } });
    const sent = await taskIn({});

    expect(await stopUnstarted(engine, held, 1, cause, 'me')).toEqual({ outcome: 'taken-over', state: expect.objectContaining({ status: 'PENDING', dispatch: { owner: 'other', until: expect.any(Number) } }) });
    expect(await stopUnstarted(engine, sent, 1, cause, 'me')).toEqual({ outcome: 'taken-over', state: expect.objectContaining({ taskId: sent.taskId, status: 'PENDING' }) });
    expect(await base.store.get(held.taskId)).toMatchObject({ status: 'PENDING' });
  });

  it('answers stopped, not taken-over, when the holder is this request in a later run, or when the stop has no owner', async () => {
    const ownLaterRun = await taskIn({ run: 2, dispatch: { owner: 'me', until: Date.now() + 10_000 } });
    const heldByAnother = await taskIn({ dispatch: { owner: 'other', until: Date.now() + 10_000 } });

    expect(await stopUnstarted(engine, ownLaterRun, 1, cause, 'me')).toEqual({ outcome: 'stopped' });
    expect(await stopUnstarted(engine, heldByAnother, 1, cause)).toEqual({ outcome: 'stopped' });
  });

  it('throws at once, without retrying, what is not DynamoDB being unavailable', async () => {
    const task = await taskIn({ status: 'CANCELLED' });
    // No real server answers this: an item no DynamoDB type describes stands for any error the store does not turn into DependencyUnavailableError (a bug).
    const odd = dynamo.add({
      command: 'PutItem',
      effect: 'fail',
      error: () => new ConditionalCheckFailedException({ message: 'an unreadable item (injected)', $metadata: {}, Item: { sk: { X: 'no such type' } as never } }),
    });

    await expect(stopUnstarted(engine, task, 1, cause)).rejects.toThrow(/Unsupported type/);
    expect(odd.hits).toBe(1);
  });
});
