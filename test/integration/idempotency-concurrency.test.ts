import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../lib/engine';
import { enqueue, type EnqueuedTask } from '../../lib/enqueue';
import { DependencyUnavailableError } from '../../lib/errors';
import { prepareTask } from '../../lib/preparedTask';
import { beginDispatch, putMarker } from '../../lib/store/idempotency';
import { isStateSk, newTaskItems } from '../../lib/store/items';
import { writeLog } from '../../lib/tasks/examples';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, gate } from '../support/drive';
import { receiveEvent } from '../support/events';
import type { FaultKit } from '../support/faults';

/**
 * Requests that share an Idempotency-Key at the same time, against real
 * dynalite and local-aws-sqs: one holds the sending of the task, the others
 * wait for its outcome (how often they look, how long before they give up),
 * take over a hold whose holder died, or start a new run of a task whose
 * sending was stopped. SDK middleware holds a call back at a chosen point so
 * that the interleaving is the one each test names; where time matters, only
 * Date is faked (timers and the servers stay real).
 */
let aws: LocalAws;
let base: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());
beforeEach(async () => {
  base = await createTestEngine(aws);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- SDK command inputs
type Input = any;
const isStateRead = (input: Input) => isStateSk(String(input.Key?.sk ?? ''));
// Below the SDK's retries (deserialize step) the input is marshalled: { S: '...' }.
const isStateWrite = (input: Input) => isStateSk(String(input.Item?.sk?.S ?? input.Item?.sk ?? ''));
const isNewRun = (input: Input) => String(input.UpdateExpression).startsWith('SET #s = :pending, run = :next');
const isTakeOver = (input: Input) => String(input.UpdateExpression).startsWith('SET dispatch = :mine');
const isRelease = (input: Input) => /^(SET wt = :wt )?REMOVE dispatch$/.test(String(input.UpdateExpression));

/** Counts the state reads of one request's client, and runs `at[n]` just before the n-th goes out. */
function onStateReads(kit: FaultKit, at: Record<number, () => unknown>): { readonly count: number } {
  let count = 0;
  kit.add({
    command: 'GetItem',
    effect: 'delay',
    when: isStateRead,
    before: async () => {
      count++;
      await at[count]?.();
    },
  });
  return {
    get count() {
      return count;
    },
  };
}

const send = (engine: Engine, key: string): Promise<EnqueuedTask> => enqueue(writeLog, { message: 'shared' }, { idempotencyKey: key }, engine);
const settled = (p: Promise<unknown>) => p.then(
  () => undefined,
  () => undefined,
);

/** For a read the request should not make: it fails, so a request that waits instead of acting fails at once. */
const waitedInstead = () => {
  throw new Error('the request read the state again instead of acting (injected)');
};

/** A request that wrote the key's marker and took the hold until `until`, then died: the task's id. */
async function crashedHolder(key: string, until: number, wroteTaskAt?: string): Promise<string> {
  const prepared = prepareTask(base, 'write_log', { message: 'shared' }, { idempotencyKey: key });
  await putMarker(base.store, key, { taskId: prepared.task.taskId, requestHash: prepared.requestHash }, prepared.task.expiresAt);
  expect(await beginDispatch(base.store, prepared.task, 'crashed-request', until, base.now())).toBe(true);
  // It got as far as writing its task (not sending it).
  if (wroteTaskAt) await base.store.create(newTaskItems({ ...prepared.task, createdAt: wroteTaskAt }, prepared.payloadJson, prepared.payloadBytes));
  return prepared.task.taskId;
}

/** The messages visible in the default queue, as the task and run they name. */
async function queued(): Promise<Array<{ taskId: string; run: number }>> {
  const event = await receiveEvent(aws.sqs, base.config.queueUrls.default, 10, 0);
  return event.Records.map((r) => JSON.parse(r.body) as { taskId: string; run: number }).map(({ taskId, run }) => ({ taskId, run }));
}

describe('a request that meets another request holding the key', () => {
  it('waits, reading the hold at intervals that grow by half up to a quarter second (with jitter), and answers 202 for the task without sending', async () => {
    const a = siblingEngine(aws, base);
    const b = siblingEngine(aws, base);
    const sending = gate();
    const finish = gate();
    a.sqs.add({ command: 'SendMessage', effect: 'delay', before: async () => (sending.open(), finish.wait) });
    const random = vi.spyOn(Math, 'random');
    // When each state read of B starts and ends: a pause is the time between the end of one and the start of the next.
    const starts: number[] = [];
    const ends: number[] = [];
    const getState = b.engine.store.getState.bind(b.engine.store);
    vi.spyOn(b.engine.store, 'getState').mockImplementation(async (taskId) => {
      starts.push(performance.now());
      if (starts.length === 13) {
        random.mockRestore();
        finish.open();
      }
      const state = await getState(taskId);
      ends.push(performance.now());
      return state;
    });

    const first = send(a.engine, 'wait-1');
    await sending.wait;
    // Jitter at its middle: each pause is 3/4 of 20 ms × 1.5^round, capped at 250 ms.
    random.mockReturnValue(0.5);
    const second = await send(b.engine, 'wait-1');
    const held = await first;

    expect(held.created).toBe(true);
    expect(second).toMatchObject({ taskId: held.taskId, created: false, record: { status: 'PENDING', run: 1 } });
    expect(b.sqs.count('SendMessage')).toBe(0);
    const pauses = [15, 22.5, 33.75, 50.625, 75.9375, 113.90625, 170.859375, 187.5, 187.5, 187.5, 187.5, 187.5];
    const gaps = starts.slice(1, 13).map((t, i) => t - ends[i]!);
    gaps.forEach((gap, i) => expect(gap, `pause ${i}`).toBeGreaterThanOrEqual(pauses[i]! - 2));
    const total = gaps.reduce((s, g) => s + g, 0);
    expect(total).toBeLessThan(pauses.reduce((s, p) => s + p, 0) + 900);
    expect(await queued()).toEqual([{ taskId: held.taskId, run: 1 }]);
  });

  /**
   * A holds `key` and sends until B's third look at the state; B's clock has
   * moved `waitedMs` on by its second look. What B answers, and how often it looked.
   */
  async function waitedFor(key: string, waitedMs: number) {
    vi.useFakeTimers({ toFake: ['Date'] });
    const started = Date.now();
    const a = siblingEngine(aws, base, { dispatchHoldMs: 60_000 });
    const b = siblingEngine(aws, base);
    const sending = gate();
    const finish = gate();
    a.sqs.add({ command: 'SendMessage', effect: 'delay', before: async () => (sending.open(), finish.wait) });
    const first = send(a.engine, key);
    const reads = onStateReads(b.dynamo, {
      2: () => vi.setSystemTime(started + waitedMs),
      3: () => (finish.open(), first),
    });
    await sending.wait;
    const second = await send(b.engine, key).catch((e: unknown) => e);
    finish.open();
    return { first: await first, second, reads: reads.count, bSent: b.sqs.count('SendMessage') };
  }

  it('still waits when it has waited exactly 20 s, and answers 202 when the holder then finishes', async () => {
    const { first, second, reads } = await waitedFor('limit-1', 20_000);

    expect(reads).toBe(3);
    expect(second).toMatchObject({ taskId: first.taskId, created: false });
  });

  it('answers 503 (SQS, another request is still sending) once it has waited more than 20 s, and the holder still answers 202', async () => {
    const { first, second, reads, bSent } = await waitedFor('limit-2', 20_001);

    expect(second).toBeInstanceOf(DependencyUnavailableError);
    expect(second).toMatchObject({ code: 'service_unavailable', dependency: 'sqs', message: 'SQS SendMessage failed', cause: 'another request is still sending this task' });
    expect(reads).toBe(2);
    expect(first).toMatchObject({ created: true });
    expect(bSent).toBe(0);
  });

  it('does not answer while the holder sends: when the holder fails and stops the task, it starts run 2 and sends it itself', async () => {
    const a = siblingEngine(aws, base);
    const b = siblingEngine(aws, base);
    const waiting = gate();
    let second: Promise<EnqueuedTask> | undefined;
    a.sqs.add({
      command: 'SendMessage',
      effect: 'fail',
      times: 1,
      before: async () => {
        second = send(b.engine, 'revive-1');
        await Promise.race([waiting.wait, settled(second)]);
      },
    });
    onStateReads(b.dynamo, { 2: () => waiting.open() });
    // B starts the new run only once A has answered: A's stop is then certainly in place, whatever the SDK retried.
    const first = send(a.engine, 'revive-1').catch((e: unknown) => e);
    b.dynamo.add({ command: 'UpdateItem', effect: 'delay', when: isNewRun, before: async () => void (await first) });

    const failed = await first;
    const revived = await second!;

    expect(failed).toMatchObject({ code: 'service_unavailable', dependency: 'sqs' });
    // Its answer is the stored task's: run 2, created when the first request wrote it.
    const stored = await base.store.get(revived.taskId);
    expect(revived).toMatchObject({ created: true, record: { status: 'PENDING', run: 2, attempts: 0, createdAt: stored!.createdAt } });
    const state = await base.store.getState(revived.taskId);
    expect(state).toMatchObject({ status: 'PENDING', run: 2, attempts: 0, claimableAt: 0 });
    for (const gone of ['stopped', 'error', 'finishedAt', 'attention', 'dispatch']) expect(state, gone).not.toHaveProperty(gone);
    expect(await queued()).toEqual([{ taskId: revived.taskId, run: 2 }]);
  });
});

describe('a hold whose holder died', () => {
  it('is taken over at once when it runs out, even this very millisecond: the task is sent once, as run 1', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const taskId = await crashedHolder('crashed-1', Date.now());
    const b = siblingEngine(aws, base);
    // One look at the state is all it takes: a second one would be waiting (and fails the request).
    const reads = onStateReads(b.dynamo, { 2: waitedInstead });

    const taken = await send(b.engine, 'crashed-1');

    expect(reads.count).toBe(1);
    expect(taken).toMatchObject({ taskId, created: true, record: { status: 'PENDING', run: 1 } });
    const state = await base.store.getState(taskId);
    expect(state).toMatchObject({ status: 'PENDING', run: 1 });
    expect(state).not.toHaveProperty('dispatch');
    expect(await queued()).toEqual([{ taskId, run: 1 }]);
  });

  it('answers a take-over with the task the dead holder wrote (its creation time), not the one it would have written', async () => {
    const taskId = await crashedHolder('crashed-3', Date.now() - 1, '2026-01-01T00:00:00.000Z');
    const b = siblingEngine(aws, base);

    const taken = await send(b.engine, 'crashed-3');

    expect(taken).toMatchObject({ taskId, created: true, record: { status: 'PENDING', run: 1, createdAt: '2026-01-01T00:00:00.000Z' } });
    expect(await queued()).toEqual([{ taskId, run: 1 }]);
  });

  it('still answers 202 for a take-over it sent and released when reading the stored task then fails', async () => {
    const taskId = await crashedHolder('crashed-4', Date.now() - 1, '2026-01-01T00:00:00.000Z');
    const b = siblingEngine(aws, base);
    b.dynamo.add({ command: 'BatchGetItem', effect: 'fail' });

    const taken = await send(b.engine, 'crashed-4');

    expect(b.dynamo.count('BatchGetItem')).toBeGreaterThan(0);
    expect(taken).toMatchObject({ taskId, created: true, record: { status: 'PENDING', run: 1 } });
    const state = await base.store.getState(taskId);
    expect(state).toMatchObject({ status: 'PENDING', run: 1 });
    expect(state).not.toHaveProperty('stopped');
    expect(await queued()).toEqual([{ taskId, run: 1 }]);
  });

  it('is taken over by one of two requests that meet it: the other waits for that one and sends nothing', async () => {
    const taskId = await crashedHolder('crashed-2', Date.now() - 1);
    const b = siblingEngine(aws, base);
    const c = siblingEngine(aws, base);
    let third: EnqueuedTask | undefined;
    b.dynamo.add({ command: 'UpdateItem', effect: 'delay', when: isTakeOver, times: 1, before: async () => void (third = await send(c.engine, 'crashed-2')) });

    const second = await send(b.engine, 'crashed-2');

    expect(third).toMatchObject({ taskId, created: true });
    expect(second).toMatchObject({ taskId, created: false });
    expect(b.sqs.count('SendMessage')).toBe(0);
    expect(await queued()).toEqual([{ taskId, run: 1 }]);
  });
});

describe('a holder whose hold runs out while it sends', () => {
  /**
   * A's send (which `aSend` then lets out, or fails) waits while A's hold runs
   * out and B, with `key`, takes the hold over and reaches its own send, where
   * `bSend` holds it until `bGo` opens. `taker.second` is B's answer.
   */
  function overrun(key: string, aSend: 'delay' | 'fail', bSend: 'delay' | 'fail') {
    vi.useFakeTimers({ toFake: ['Date'] });
    const started = Date.now();
    const a = siblingEngine(aws, base);
    const b = siblingEngine(aws, base);
    const bSending = gate();
    const bGo = gate();
    const taker: { second?: Promise<EnqueuedTask> } = {};
    a.sqs.add({
      command: 'SendMessage',
      effect: aSend,
      times: 1,
      before: async () => {
        vi.setSystemTime(started + a.engine.config.dispatchHoldMs + 1);
        taker.second = send(b.engine, key);
        await Promise.race([bSending.wait, settled(taker.second)]);
      },
    });
    b.sqs.add({ command: 'SendMessage', effect: bSend, times: 1, before: async () => (bSending.open(), bGo.wait) });
    return { a, bGo, taker };
  }

  it('whose send lands: answers 202 only after the request that took over released, as not created by it', async () => {
    const { a, bGo, taker } = overrun('overrun-1', 'delay', 'delay');
    // A's reads: before it holds, after its release failed (B holds), then waiting for B.
    const reads = onStateReads(a.dynamo, { 3: () => bGo.open() });

    const first = await send(a.engine, 'overrun-1').finally(() => bGo.open());

    expect(await taker.second!).toMatchObject({ taskId: first.taskId, created: true });
    expect(first).toMatchObject({ created: false, record: { status: 'PENDING' } });
    expect(reads.count).toBeGreaterThanOrEqual(3);
    expect(await base.store.getState(first.taskId)).not.toHaveProperty('dispatch');
    // Both sent before either knew: the worker runs run 1 once, whichever message comes first.
    expect(await queued()).toEqual([
      { taskId: first.taskId, run: 1 },
      { taskId: first.taskId, run: 1 },
    ]);
  });

  it.each([
    { outcome: 'fails too', bFails: true },
    { outcome: 'succeeds', bFails: false },
  ])('whose send fails, taken over by one whose send $outcome: answers as that one did, without a send of its own again', async ({ bFails }) => {
    const { a, bGo, taker } = overrun('overrun-2', 'fail', bFails ? 'fail' : 'delay');
    // A's reads: before it holds, in its stop (B holds: taken over), then waiting for B, whose outcome is known once it answered.
    onStateReads(a.dynamo, { 3: () => (bGo.open(), taker.second && settled(taker.second)) });

    const first = await send(a.engine, 'overrun-2')
      .catch((e: unknown) => e)
      .finally(() => bGo.open());
    const other = await taker.second!.catch((e: unknown) => e);

    const taskId = a.dynamo.calls.find((c) => c.command === 'PutItem' && isStateSk(String(c.input.Item?.sk)))!.input.Item.taskId as string;
    if (bFails) {
      expect(first).toMatchObject({ code: 'service_unavailable', dependency: 'sqs' });
      expect(other).toMatchObject({ code: 'service_unavailable', dependency: 'sqs' });
      expect(await base.store.getState(taskId)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed', run: 1 });
    } else {
      expect(other).toMatchObject({ taskId, created: true });
      expect(first).toMatchObject({ taskId, created: false });
      expect(await base.store.getState(taskId)).toMatchObject({ status: 'PENDING', run: 1 });
    }
    expect(a.sqs.count('SendMessage')).toBe(1);
  });
  it('whose send lands after the request that took over failed its own and stopped the task: never answers 202 for the stopped run; it sends a new run', async () => {
    const { a, bGo, taker } = overrun('overrun-3', 'delay', 'fail');
    // A's release goes out only once B has failed its send and stopped the task.
    a.dynamo.add({
      command: 'UpdateItem',
      effect: 'delay',
      times: 1,
      when: isRelease,
      before: async () => {
        bGo.open();
        await settled(taker.second!);
      },
    });

    const first = await send(a.engine, 'overrun-3');
    const other = await taker.second!.catch((e: unknown) => e);

    expect(other).toMatchObject({ code: 'service_unavailable', dependency: 'sqs' });
    expect(first).toMatchObject({ created: true, record: { run: 2 } });
    // The run A answers for goes; the stopped run's message (A's first) finds run 2 and runs nothing.
    expect(await base.store.getState(first.taskId)).toMatchObject({ status: 'PENDING', run: 2 });
    expect(await base.store.getState(first.taskId)).not.toHaveProperty('stopped');
    expect(a.sqs.count('SendMessage')).toBe(2);
  });
});

describe('a holder whose own try failed', () => {
  it('answers 202 with the task as the worker has it when its send failed ambiguously and a worker already claimed the task', async () => {
    const a = siblingEngine(aws, base);
    a.sqs.add({
      command: 'SendMessage',
      effect: 'lose-answer',
      times: 1,
      after: async (input: Input) => {
        const taskId = (JSON.parse(String(input.MessageBody)) as { taskId: string }).taskId;
        await vi.waitFor(async () => expect((await base.store.getItems(taskId)).task).toBeDefined());
        await claimById(base, taskId, new Date(), 60_000);
      },
    });

    const enqueued = await send(a.engine, 'started-1');

    expect(enqueued).toMatchObject({ created: true, record: { status: 'RUNNING', run: 1, attempts: 1, idempotencyKey: 'started-1' } });
    expect(a.sqs.count('SendMessage')).toBe(1);
    expect(await queued()).toEqual([{ taskId: enqueued.taskId, run: 1 }]);
  });

  it('answers 503 at once when it stopped the task, without looking at the key again: a request reviving it meanwhile does not change that answer', async () => {
    const a = siblingEngine(aws, base);
    const b = siblingEngine(aws, base);
    a.sqs.add({ command: 'SendMessage', effect: 'fail', times: 1 });
    let revivedEarly: EnqueuedTask | undefined;
    const reads = onStateReads(a.dynamo, { 2: async () => void (revivedEarly = await send(b.engine, 'stopped-1')) });

    const failed = await send(a.engine, 'stopped-1').catch((e: unknown) => e);

    expect(failed).toMatchObject({ code: 'service_unavailable', dependency: 'sqs' });
    expect(reads.count).toBe(1);
    expect(revivedEarly).toBeUndefined();
    const revived = await send(b.engine, 'stopped-1');
    expect(revived).toMatchObject({ created: true });
    expect(await base.store.getState(revived.taskId)).toMatchObject({ status: 'PENDING', run: 2 });
  });

  it('sends at once when the hold it meets is its own (its write landed, but the answer was lost and the retry refused)', async () => {
    const a = siblingEngine(aws, base, { dispatchHoldMs: 60_000 });
    a.dynamo.add({ command: 'PutItem', effect: 'lose-answer', step: 'deserialize', times: 1, when: isStateWrite });
    const reads = onStateReads(a.dynamo, { 3: waitedInstead });

    const enqueued = await send(a.engine, 'own-1');

    expect(enqueued).toMatchObject({ created: true, record: { status: 'PENDING', run: 1 } });
    // The refusal carries the state its own first try wrote: no second read to find that out.
    expect(reads.count).toBe(1);
    expect(a.sqs.count('SendMessage')).toBe(1);
    expect(await base.store.getState(enqueued.taskId)).not.toHaveProperty('dispatch');
  });
});

describe('a DynamoDB failure on the way', () => {
  const isMarkerWrite = (input: Input) => input.Item?.sk === 'marker';
  const isMarkerRead = (input: Input) => input.Key?.sk === 'marker';

  it.each([
    { step: 'the marker write', command: 'PutItem', when: isMarkerWrite, prepare: async () => {} },
    { step: 'the marker read of a used key', command: 'GetItem', when: isMarkerRead, prepare: async (key: string) => void (await send(base, key)) },
    { step: 'the hold on the sending', command: 'PutItem', when: (input: Input) => isStateWrite(input), prepare: async () => {} },
    { step: 'the take-over of a dead hold', command: 'UpdateItem', when: isTakeOver, prepare: async (key: string) => void (await crashedHolder(key, Date.now() - 1)) },
    {
      step: 'the new run of a stopped task',
      command: 'UpdateItem',
      when: isNewRun,
      prepare: async (key: string) => {
        const a = siblingEngine(aws, base);
        a.sqs.add({ command: 'SendMessage', effect: 'fail' });
        await expect(send(a.engine, key)).rejects.toBeInstanceOf(DependencyUnavailableError);
      },
    },
  ])('at $step answers 503 naming the DynamoDB call', async ({ step, command, when, prepare }) => {
    const key = `dynamo-down-${step.replace(/\W+/g, '-')}`;
    await prepare(key);
    const b = siblingEngine(aws, base);
    const refused = b.dynamo.add({ command, effect: 'fail', when });

    const error = await send(b.engine, key).catch((e: unknown) => e);

    expect(refused.hits).toBe(1);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).toMatchObject({ code: 'service_unavailable', dependency: 'dynamodb', message: `DynamoDB ${command} failed` });
    expect(b.sqs.count('SendMessage')).toBe(0);
  });
});
