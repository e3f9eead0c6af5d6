import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DeleteMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { claimTask, finishAttempt } from '../lib/store/claims';
import { processBatch } from '../lib/worker';
import { createApiHandler } from '../lib/http/api';
import { newTaskId } from '../lib/keys';
import { stateKey, taskKey } from '../lib/store/items';
import { apiEvent, lambdaContext, receiveAll } from '../test/support/events';
import type { BenchAws } from './servers';
import { median, percentiles, type Percentiles } from './stats';

export interface RatioFigure {
  ours: Percentiles;
  floor: Percentiles;
  /** Median over rounds of (our p50 / floor p50). */
  ratioP50: number;
  ratioP95: number;
  ratioP99: number;
}

/**
 * POST /tasks through the api handler vs its floor: PutItem ∥ SendMessage with
 * the same clients against the same servers. Interleaved one for one, so
 * machine drift hits both alike.
 */
export async function benchEnqueue(aws: BenchAws, rounds: number, perRound: number): Promise<RatioFigure> {
  const api = createApiHandler({ engine: aws.engine, apiKeys: async () => ['bench-key'] });
  const { store } = aws.engine;
  const ours: number[] = [];
  const floor: number[] = [];
  const ratios: Array<[number, number, number]> = [];
  const body = { name: 'write_log', payload: { message: 'bench' } };
  for (let round = 0; round < rounds; round++) {
    const o: number[] = [];
    const f: number[] = [];
    for (let i = 0; i < perRound; i++) {
      let t = performance.now();
      const res = await api(apiEvent('POST', '/tasks', { body, apiKey: 'bench-key' }), lambdaContext());
      o.push(performance.now() - t);
      if (res.statusCode !== 202) throw new Error(`enqueue failed: ${res.body}`);
      t = performance.now();
      const taskId = newTaskId();
      await Promise.all([
        store.client.send(new PutCommand({ TableName: store.tableName, Item: { ...taskKey(taskId), taskId, name: 'write_log', payloadJson: '{"message":"bench"}' }, ConditionExpression: 'attribute_not_exists(sk)' })),
        aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.engine.config.queueUrls.default, MessageBody: JSON.stringify({ v: 2, taskId, name: 'write_log', run: 1 }) })),
      ]);
      f.push(performance.now() - t);
    }
    const po = percentiles(o);
    const pf = percentiles(f);
    ratios.push([po.p50 / pf.p50, po.p95 / pf.p95, po.p99 / pf.p99]);
    ours.push(...o);
    floor.push(...f);
  }
  return {
    ours: percentiles(ours),
    floor: percentiles(floor),
    ratioP50: median(ratios.map((r) => r[0])),
    ratioP95: median(ratios.map((r) => r[1])),
    ratioP99: median(ratios.map((r) => r[2])),
  };
}

export interface WorkerFigure {
  oursMs: number;
  /** Two bare conditional updates per task (status only). */
  floorMs: number;
  ratio: number;
  /** The two writes the record contract requires (claim with its lease; outcome with the attempt log), through the store. */
  recordFloorMs: number;
  ratioToRecordFloor: number;
  /** Ten tasks that each wait 100 ms, in one batch. */
  tenWaits100Ms: number;
}

/**
 * A batch of ten no-op tasks through the worker vs its floor: the writes it
 * cannot avoid (claim, then record the outcome) for ten tasks, concurrently.
 */
export async function benchWorker(aws: BenchAws, rounds: number): Promise<WorkerFigure> {
  const { engine } = aws;
  const ours: number[] = [];
  const floor: number[] = [];
  const waits: number[] = [];
  const recordFloor: number[] = [];
  const api = createApiHandler({ engine, apiKeys: async () => ['bench-key'] });
  const enqueueBatch = async (name: string, payload: object) => {
    const tasks = Array.from({ length: 10 }, () => ({ name, payload }));
    await api(apiEvent('POST', '/tasks/batch', { body: { tasks }, apiKey: 'bench-key' }), lambdaContext());
    return receiveAll(aws.sqs, engine.config.queueUrls.default, 10);
  };
  for (let round = 0; round < rounds; round++) {
    const event = await enqueueBatch('write_log', { message: 'noop' });
    let t = performance.now();
    const response = await processBatch(engine, event, lambdaContext());
    ours.push(performance.now() - t);
    if (response.batchItemFailures.length > 0) throw new Error('worker bench: a task failed');
    await ack(aws, engine.config.queueUrls.default, event);

    const ids = Array.from({ length: 10 }, () => newTaskId());
    await Promise.all(ids.map((taskId) => engine.store.client.send(new PutCommand({ TableName: engine.store.tableName, Item: { ...stateKey(taskId), status: 'PENDING', attempts: 0 } }))));
    t = performance.now();
    await Promise.all(
      ids.map(async (taskId) => {
        await engine.store.client.send(new UpdateCommand({ TableName: engine.store.tableName, Key: stateKey(taskId), UpdateExpression: 'SET #s = :r, attempts = attempts + :one', ConditionExpression: '#s = :p', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':r': 'RUNNING', ':p': 'PENDING', ':one': 1 }, ReturnValues: 'ALL_NEW' }));
        await engine.store.client.send(new UpdateCommand({ TableName: engine.store.tableName, Key: stateKey(taskId), UpdateExpression: 'SET #s = :d, resultJson = :res', ConditionExpression: '#s = :r', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':r': 'RUNNING', ':d': 'SUCCEEDED', ':res': '{"message":"noop"}' } }));
      }),
    );
    floor.push(performance.now() - t);

    const claimed = await enqueueBatch('write_log', { message: 'noop' });
    const claimedIds = claimed.Records.map((r) => (JSON.parse(r.body) as { taskId: string }).taskId);
    t = performance.now();
    await Promise.all(
      claimedIds.map(async (taskId) => {
        const { task } = await engine.store.getItems(taskId);
        const claim = task && (await claimTask(engine.store, task, 1, new Date(), 70_000)).claimed;
        if (!claim) throw new Error('record floor: claim failed');
        const now = new Date().toISOString();
        await finishAttempt(engine.store, claim, { attempt: 1, run: 1, startedAt: now, durationMs: 0, outcome: 'succeeded' }, { status: 'SUCCEEDED', resultJson: '{"message":"noop"}' }, new Date());
      }),
    );
    recordFloor.push(performance.now() - t);
    await ack(aws, engine.config.queueUrls.default, claimed);

    const sleeps = await enqueueBatch('sleep', { ms: 100 });
    t = performance.now();
    await processBatch(engine, sleeps, lambdaContext());
    waits.push(performance.now() - t);
    await ack(aws, engine.config.queueUrls.default, sleeps);
  }
  return {
    oursMs: median(ours),
    floorMs: median(floor),
    ratio: median(ours.map((o, i) => o / floor[i]!)),
    recordFloorMs: median(recordFloor),
    ratioToRecordFloor: median(ours.map((o, i) => o / recordFloor[i]!)),
    tenWaits100Ms: median(waits),
  };
}

async function ack(aws: BenchAws, queueUrl: string, event: SQSEvent): Promise<void> {
  await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: event.Records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
}
