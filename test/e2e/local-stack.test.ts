import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateKey } from '../../lib/store/items';
import { startLocalAws, type LocalAws } from '../support/aws';
import { TERMINAL_STATUSES } from '../../lib/types';
import { copyCheckout, freePorts, startStack, waitForStatus, type Stack } from '../support/stack';

/**
 * The stack exactly as `npm start` runs it (a child process in its own
 * process group, like a terminal's), on free ports, in a copy of the checkout.
 */
const checkout = copyCheckout();
const dataDir = `${checkout.dir}/.local`;
let stack: Stack | undefined;

afterAll(async () => {
  stack?.signal('SIGKILL');
  checkout.remove();
});

const TERMINAL = TERMINAL_STATUSES;

/** Enqueues `count` sleep tasks on the high queue and resolves once all are RUNNING. */
async function startSleeps(on: Stack, count: number, ms: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { status, body } = await on.request('POST', '/tasks', { name: 'sleep', payload: { ms }, priority: 'high' });
    expect(status).toBe(202);
    ids.push(body.taskId);
  }
  await Promise.all(ids.map((id) => waitForStatus(on, id, ['RUNNING'], 15_000)));
  return ids;
}

describe('npm start', { timeout: 180_000 }, () => {
  it('answers the seed route with 202 at once and the task reads SUCCEEDED within a couple of seconds', async () => {
    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir, LOCAL_FRESH: '1', POWERTOOLS_LOG_LEVEL: 'INFO' });
    expect(stack.output()).toContain(`curl -X POST '${stack.url}/send-notification?email=a@example.com' -H 'x-api-key: local-dev-key'`);
    expect(stack.output()).toMatch(/SQS\s+http:\/\/127\.0\.0\.1:\d+\s+\(embedded, in memory\)/);

    expect((await stack.request('GET', '/health', undefined, {})).status).toBe(200);
    expect((await stack.request('POST', '/send-notification?email=a@example.com', undefined, {})).status).toBe(401);
    const started = Date.now();
    const accepted = await stack.request('POST', '/send-notification?email=a@example.com');
    expect(accepted.status).toBe(202);
    expect(accepted.body.message).toBe('Notification sent in the background');
    const record = await waitForStatus(stack, accepted.body.taskId, TERMINAL, 10_000);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { message: 'Notification sent to a@example.com' } });
    expect(Date.now() - started).toBeLessThan(8_000);
    // One line per attempt from the worker; offline's lines per request and invocation only with --verbose.
    await new Promise((r) => setTimeout(r, 500));
    expect(stack.output(), stack.output().slice(-2500)).toMatch(/"message":"Task succeeded".*"queueWaitMs":\d+/);
    expect(stack.output()).not.toMatch(/POST \/send-notification \(λ: api\)|\(λ: worker\) RequestId/);
  });

  it('serves the dashboard from its own function on the same origin, and every other path from the api', async () => {
    const page = await fetch(`${stack!.url}/dashboard`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = await fetch(`${stack!.url}${/src="([^"]+)"/.exec(html)![1]}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${stack!.url}/dashboard/nothing.js`)).status).toBe(404);
    expect((await stack!.request('GET', '/stats')).status).toBe(200);
  });

  it('on SIGTERM with ten tasks running, lets them finish, then exits 0', async () => {
    const ids = await startSleeps(stack!, 10, 8_000);
    stack!.signalServer('SIGTERM');
    const exit = await stack!.exited;
    expect(stack!.output()).toContain('Draining: waiting for');
    expect(stack!.output()).toContain('Drained: every task in flight has finished');
    expect(exit.code).toBe(0);

    // After a restart every record is still there, and every one of the ten finished before the exit.
    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir });
    expect(stack.output()).toContain('nothing to re-queue');
    for (const id of ids) expect((await stack.request('GET', `/tasks/${id}`)).body).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('on %s to the whole process group (Ctrl+C in a terminal, or a process manager stopping the group), the emulators outlive the drain and every running task records its one attempt', async (signal) => {
    stack = stack ?? (await startStack(checkout.dir, { LOCAL_DIR: dataDir }));
    const ids = await startSleeps(stack, 10, 2_000);
    stack.signal(signal);
    await stack.closed;
    expect(stack.output()).toContain('Drained: every task in flight has finished');
    expect(stack.output()).not.toMatch(/Could not|ECONNREFUSED|cannot poll/);

    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir });
    expect(stack.output()).toContain('nothing to re-queue');
    for (const id of ids) expect((await stack.request('GET', `/tasks/${id}`)).body).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('on SIGTERM to npm itself (which stops only the shell), the server notices and still drains', async () => {
    const ids = await startSleeps(stack!, 3, 8_000);
    stack!.signalNpm('SIGTERM');
    await stack!.closed;
    expect(stack!.output()).toContain('npm has exited');
    expect(stack!.output()).toContain('Drained: every task in flight has finished');

    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir });
    expect(stack.output()).toContain('nothing to re-queue');
    for (const id of ids) expect((await stack.request('GET', `/tasks/${id}`)).body).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('after a hard kill, tasks that were queued but not started still complete on the next start', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      // Delayed past the kill and the restart's first seconds: queued, not started, when the process dies.
      const { status, body } = await stack!.request('POST', '/tasks', { name: 'write_log', payload: { message: `queued ${i}` }, delaySeconds: 8 });
      expect(status).toBe(202);
      ids.push(body.taskId);
    }
    stack!.signal('SIGKILL');
    await stack!.exited;

    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir });
    expect(stack.output()).toContain('5 PENDING task(s) re-queued');
    for (const id of ids) expect(await waitForStatus(stack, id, TERMINAL, 20_000)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    stack.signalServer('SIGTERM');
    expect((await stack.exited).code).toBe(0);
  });

  it('says in one line which port is taken and how to fix it', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const failed = await startStack(checkout.dir, { LOCAL_DIR: dataDir, SQS_PORT: String(port) }, { waitReady: false });
      const exit = await failed.exited;
      expect(exit.code).toBe(1);
      expect(failed.output()).toContain(`Port ${port} (embedded SQS) is already in use`);
      expect(failed.output()).toContain(`fix: stop the other process (lsof -i :${port}) or choose another port, e.g. SQS_PORT=${port + 1} npm start`);
      expect(failed.output()).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
  it('says in one line which endpoint it cannot reach and how to fix it', async () => {
    const [port] = await freePorts(1);
    const failed = await startStack(checkout.dir, { LOCAL_DIR: dataDir, AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}` }, { waitReady: false });
    const exit = await failed.exited;
    expect(exit.code).toBe(1);
    expect(failed.output()).toContain(`Cannot reach DynamoDB at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(failed.output()).toContain('fix: start that server, or unset AWS_ENDPOINT_URL_DYNAMODB to use the embedded one');
    expect(failed.output()).not.toMatch(/\n\s+at /);
  });
});

describe('npm start with AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB', { timeout: 180_000 }, () => {
  let external: LocalAws;
  beforeAll(async () => {
    external = await startLocalAws();
  });
  afterAll(async () => external.close());

  it('uses those servers instead of its own, creates the resources there and runs tasks on them', async () => {
    const other = await startStack(checkout.dir, {
      LOCAL_DIR: `${checkout.dir}/.local-unused`,
      AWS_ENDPOINT_URL_SQS: external.sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: external.dynamoEndpoint,
    });
    try {
      expect(other.output()).toContain(`SQS        ${external.sqsEndpoint}  (AWS_ENDPOINT_URL_SQS)`);
      expect(other.output()).toContain(`DynamoDB   ${external.dynamoEndpoint}  (AWS_ENDPOINT_URL_DYNAMODB)`);
      const { body } = await other.request('POST', '/send-notification?email=b@example.com');
      await waitForStatus(other, body.taskId, ['SUCCEEDED'], 10_000);
      const { pk, sk } = stateKey(body.taskId);
      const item = await external.dynamo.send(new GetItemCommand({ TableName: 'background-tasks-dev-tasks-v2', Key: { pk: { S: pk }, sk: { S: sk } } }));
      expect(item.Item?.status?.S).toBe('SUCCEEDED');
    } finally {
      other.signalServer('SIGTERM');
      await other.exited;
    }
  });
});
