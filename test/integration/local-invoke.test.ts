import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeThroughOffline } from '../../lib/local/invoke';

/**
 * The invoke side of the local event source, against a server that answers
 * the way serverless-offline's Lambda endpoint does (the npm start e2e tests
 * run it against offline itself).
 */
let server: Server;
let endpoint: string;
const requests: Array<{ path: string; invocationType?: string; body: unknown }> = [];
const respond = new Map<string, (res: ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ path: req.url!, invocationType: req.headers['x-amz-invocation-type'] as string, body: JSON.parse(body) });
      const name = decodeURIComponent(req.url!.split('/')[3]!);
      respond.get(name)?.(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const event = { Records: [{ messageId: 'm1', body: '{}' }] } as unknown as SQSEvent;

describe('invokeThroughOffline', () => {
  it('posts the event to the Invoke API route and returns the function payload', async () => {
    respond.set('svc-dev-worker', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"batchItemFailures":[{"itemIdentifier":"m1"}]}'));
    const result = await invokeThroughOffline(endpoint)('svc-dev-worker', event, 30);
    expect(result).toEqual({ ok: true, payload: { batchItemFailures: [{ itemIdentifier: 'm1' }] } });
    expect(requests.at(-1)).toEqual({ path: '/2015-03-31/functions/svc-dev-worker/invocations', invocationType: 'RequestResponse', body: event });
  });

  it('reports a function error (thrown or timed out) as a failed invocation', async () => {
    respond.set('throws', (res) =>
      res.writeHead(200, { 'x-amz-function-error': 'Unhandled' }).end('{"errorMessage":"boom","errorType":"Error"}'),
    );
    expect(await invokeThroughOffline(endpoint)('throws', event, 30)).toEqual({ ok: false, error: 'Unhandled: boom' });
    respond.set('missing', (res) => res.writeHead(404, { 'x-amzn-errortype': 'ResourceNotFoundException' }).end('{"Message":"no such function"}'));
    expect(await invokeThroughOffline(endpoint)('missing', event, 30)).toEqual({ ok: false, error: 'ResourceNotFoundException: no such function' });
  });

  it('gives up on an invocation that does not answer within its timeout plus the margin', async () => {
    respond.set('hangs', () => undefined);
    const started = Date.now();
    const result = await invokeThroughOffline(endpoint, 300)('hangs', event, 1);
    expect(result).toEqual({ ok: false, error: 'invoke failed: no answer within 1 s' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a refused connection as a failed invocation, not a throw', async () => {
    const result = await invokeThroughOffline('http://127.0.0.1:9')('any', event, 1);
    expect(result).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
  });
});
