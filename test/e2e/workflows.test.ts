import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_STATUSES } from '../../lib/types';
import { copyCheckout, startStack, waitForStatus, type Stack } from '../support/stack';

/**
 * Workflows through `npm start`, as docs/workflows.md tells a user to try
 * them: a chain of `double`, a group of `double` with `sum` as its fan-in, a
 * chain that waits for a signal, and a cancel. One stack for the whole file.
 */
const checkout = copyCheckout();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(checkout.dir, { LOCAL_DIR: `${checkout.dir}/.local`, LOCAL_FRESH: '1' });
}, 180_000);
afterAll(() => {
  stack?.signal('SIGKILL');
  checkout.remove();
});

const TERMINAL = TERMINAL_STATUSES;

async function start(body: unknown): Promise<string> {
  const { status, body: accepted } = await stack.request('POST', '/workflows', body);
  expect(status).toBe(202);
  expect(accepted.statusUrl).toBe(`/tasks/${accepted.taskId}`);
  return accepted.taskId;
}

describe('workflows through npm start', { timeout: 90_000 }, () => {
  it('runs a chain of double: 1, 2, 4, 8, and shows its steps', async () => {
    const taskId = await start({ chain: [{ name: 'double', payload: { n: 1 } }, { name: 'double' }, { name: 'double' }] });

    const record = await waitForStatus(stack, taskId, TERMINAL, 60_000);

    expect(record).toMatchObject({ name: 'workflow', status: 'SUCCEEDED', result: { n: 8 } });
    expect((record.steps as Array<{ name: string; status: string }>).map((s) => [s.name, s.status])).toEqual([
      ['double', 'SUCCEEDED'],
      ['double', 'SUCCEEDED'],
      ['double', 'SUCCEEDED'],
    ]);
  });

  it('fans a group of ten in with sum, in member order', async () => {
    const taskId = await start({ group: Array.from({ length: 10 }, (_, i) => ({ name: 'double', payload: { n: i } })), then: { name: 'sum' } });

    const record = await waitForStatus(stack, taskId, TERMINAL, 60_000);

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 90, of: 10 } });
    const steps = record.steps as Array<{ taskId: string }>;
    const fanIn = await stack.request('GET', `/tasks/${steps[10]!.taskId}`);
    expect(fanIn.body.payload).toEqual({ results: Array.from({ length: 10 }, (_, i) => ({ n: 2 * i })) });
  });

  it('refuses an unknown task or a payload its schema refuses (400), before anything runs', async () => {
    const unknown = await stack.request('POST', '/workflows', { chain: [{ name: 'nope' }] });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'unknown_task' } } });
    const invalid = await stack.request('POST', '/workflows', { group: [{ name: 'double', payload: { n: 'x' } }] });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'validation_error' } } });
    const neither = await stack.request('POST', '/workflows', { steps: [] });
    expect(neither).toMatchObject({ status: 400, body: { error: { code: 'validation_error' } } });
  });

  it('waits for a signal: WAITING, 409 for another signal, 202 for its own (then a repeat is harmless), and goes on with its data', async () => {
    const taskId = await start({ chain: [{ name: 'double', payload: { n: 1 } }, { waitFor: 'approval', timeoutSeconds: 600 }, { name: 'double' }] });
    await waitForStatus(stack, taskId, ['WAITING'], 30_000);

    const wrong = await stack.request('POST', `/tasks/${taskId}/signal`, { name: 'other' });
    expect(wrong).toMatchObject({ status: 409, body: { error: { code: 'invalid_state' } } });
    const signalled = await stack.request('POST', `/tasks/${taskId}/signal`, { name: 'approval', data: { n: 21 } });
    expect(signalled).toMatchObject({ status: 202, body: { taskId, repeated: false } });
    const again = await stack.request('POST', `/tasks/${taskId}/signal`, { name: 'approval', data: { n: 0 } });
    expect(again).toMatchObject({ status: 202, body: { repeated: true } });

    expect(await waitForStatus(stack, taskId, TERMINAL, 60_000)).toMatchObject({ status: 'SUCCEEDED', result: { n: 42 } });
  });

  it('cancels a waiting workflow', async () => {
    const taskId = await start({ chain: [{ waitFor: 'approval', timeoutSeconds: 600 }, { name: 'double' }] });

    const cancelled = await stack.request('DELETE', `/tasks/${taskId}`);

    expect(cancelled).toMatchObject({ status: 200, body: { status: 'CANCELLED', error: { type: 'WorkflowCancelled' } } });
    expect((await stack.request('POST', `/tasks/${taskId}/signal`, { name: 'approval' })).status).toBe(409);
  });
});
