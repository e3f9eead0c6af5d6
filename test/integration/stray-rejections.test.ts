import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import '../support/children/strayTasks';
import { slowNeighbour, strayRejecting } from '../support/children/strayTasks';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { receiveAll } from '../support/events';

/**
 * "Each task is isolated": a task that leaves a rejected promise unhandled
 * must not end the invocation that runs its neighbours. The deployed worker
 * handler runs in a process of its own with a listener like the Lambda
 * runtime's (which fails the invocation and exits on an unhandled rejection),
 * against the real local servers.
 */
let aws: LocalAws;
let engine: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

function invokeWorker(event: unknown): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../support/children/workerInvocation.ts')], {
    env: {
      ...process.env,
      TABLE_NAME: engine.config.tableName,
      QUEUE_URL_HIGH: engine.config.queueUrls.high,
      QUEUE_URL_DEFAULT: engine.config.queueUrls.default,
      AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: aws.sqsEndpoint,
      POWERTOOLS_DEV: '',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(JSON.stringify(event));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('a task that leaves a promise rejection unhandled', () => {
  it('ends as it returned, and the invocation goes on: its neighbours in the batch are recorded too', { timeout: 60_000 }, async () => {
    const stray = await enqueue(strayRejecting, {}, {}, engine);
    const neighbours = await Promise.all([1, 2, 3].map(() => enqueue(slowNeighbour, {}, {}, engine)));
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 4);
    expect(event.Records).toHaveLength(4);

    const { code, output } = await invokeWorker(event);

    expect(output).not.toContain('RUNTIME: unhandled rejection');
    expect(code, output).toBe(0);
    expect(output).toContain('RESPONSE {"batchItemFailures":[]}');
    expect(output).toContain('A task left a promise rejection unhandled');
    for (const { taskId } of [stray, ...neighbours]) expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });
});
