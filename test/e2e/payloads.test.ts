import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, copyCheckout, startStack, waitForStatus, type Stack } from '../support/stack';

/**
 * Large payloads through `npm start`, as a user tries them (docs/payloads.md):
 * the embedded S3 server beside SQS and DynamoDB, the bucket from
 * serverless.yml, a 5 MB payload posted with curl's body and read back
 * through its presigned link, and the checksum example seeing every byte.
 */
const checkout = copyCheckout();
const dataDir = `${checkout.dir}/.local`;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir, LOCAL_FRESH: '1' });
});
afterAll(async () => {
  stack?.signal('SIGKILL');
  await stack?.exited;
  checkout.remove();
});

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** POST /tasks with a body as curl -d @file sends it: the exact bytes, not re-encoded. */
async function post(body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.url}/tasks`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('large payloads through npm start', { timeout: 120_000 }, () => {
  it('says where the embedded S3 server is and keeps its objects beside dynalite’s data', () => {
    expect(stack.output()).toContain(`S3         http://127.0.0.1:${stack.ports.s3}  (embedded, payloads and results over 6 KB, in ${dataDir})`);
  });

  it('runs a 5 MB payload: the handler sees every byte, and GET /tasks/{id} links to the payload', async () => {
    const data = 'the quick brown fox jumps over the lazy dog; '.repeat(116_000).slice(0, 5 * 1024 * 1024 - '{"data":""}'.length);
    const body = JSON.stringify({ name: 'checksum', payload: { data } });

    const accepted = await post(body);

    expect(accepted.status).toBe(202);
    const done = await waitForStatus(stack, accepted.body.taskId as string, ['SUCCEEDED', 'FAILED'], 60_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { sha256: sha256(data), bytes: data.length }, payload: null });
    const linked = await fetch(done.payloadUrl as string);
    expect(linked.status).toBe(200);
    expect(((await linked.json()) as { data: string }).data).toBe(data);
    // The object lives in the stack's data directory, under the bucket the template declares.
    expect(readdirSync(join(dataDir, 's3', 'local-payloadbucket'))).toContain(encodeURIComponent(`payloads/${accepted.body.taskId as string}.json`));
  });

  it('refuses a payload over 5 MB with 413, naming the limit', async () => {
    const over = await post(JSON.stringify({ name: 'checksum', payload: { data: 'x'.repeat(5 * 1024 * 1024) } }));

    expect(over.status).toBe(413);
    expect(over.body).toEqual({ error: { code: 'payload_too_large', message: `Payload is ${5 * 1024 * 1024 + 11} bytes; the limit is ${5 * 1024 * 1024}` } });
  });
});
