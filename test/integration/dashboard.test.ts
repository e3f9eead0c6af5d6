import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApi } from '../support/api';
import { DASHBOARD_CSP } from '../../lib/dashboard/assetResponse';
import { createDashboardHandler } from '../../lib/dashboard/handler';
import type { Engine } from '../../lib/engine';
import { taskStats } from '../../lib/stats';
import '../../lib/tasks';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { apiEvent, lambdaContext, type ApiEventInit } from '../support/events';
import { routeLikeApiGateway } from '../support/httpServer';
import { expectErrorLogs } from '../support/logs';

// It shows tasks that failed.
expectErrorLogs(
  'Task failed',
);

let aws: LocalAws;
let engine: Engine;
let gateway: ReturnType<typeof routeLikeApiGateway>;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
  gateway = routeLikeApiGateway({ api: testApi(engine), dashboard: createDashboardHandler() });
});
afterAll(async () => aws.close());

async function call(method: string, path: string, init: ApiEventInit = {}) {
  const res = await gateway(apiEvent(method, path, init), lambdaContext());
  return { status: res.statusCode!, headers: res.headers as Record<string, string>, text: res.body as string };
}

async function enqueue(name: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call('POST', '/tasks', { body: { name, payload, ...extra } });
  expect(res.status).toBe(202);
  return (JSON.parse(res.text) as { taskId: string }).taskId;
}

describe('GET /dashboard', () => {
  it('serves the HTML shell without a key, under a strict Content-Security-Policy', async () => {
    const res = await call('GET', '/dashboard', { apiKey: null });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toMatch(/<script src="\/dashboard\/app\.js\?v=[0-9a-f]{12}" defer><\/script>/);
    expect(res.text).toMatch(/<link rel="stylesheet" href="\/dashboard\/app\.css\?v=[0-9a-f]{12}">/);
  });

  it('has no inline script, style or event handler for the CSP to refuse', async () => {
    const { text } = await call('GET', '/dashboard', { apiKey: null });

    expect(text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('labels every form control', async () => {
    const { text } = await call('GET', '/dashboard', { apiKey: null });
    const ids = [...text.matchAll(/<(?:input|select)[^>]*\sid="([^"]+)"/g)].map((m) => m[1]);

    expect(ids.length).toBeGreaterThan(3);
    for (const id of ids) expect(text).toMatch(new RegExp(`<label for="${id}"|<label[^>]*>\\s*<input[^>]*id="${id}"`));
  });

  it('serves app.js and app.css publicly, cached for good only at their current version', async () => {
    const html = (await call('GET', '/dashboard', { apiKey: null })).text;
    const scriptUrl = /src="([^"]+)"/.exec(html)![1]!;
    const [path, query] = scriptUrl.split('?');

    const versioned = await call('GET', path!, { apiKey: null, query: Object.fromEntries(new URLSearchParams(query)) });
    const stale = await call('GET', path!, { apiKey: null, query: { v: 'old' } });
    const css = await call('GET', '/dashboard/app.css', { apiKey: null });

    expect(versioned.status).toBe(200);
    expect(versioned.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(versioned.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(stale.headers['cache-control']).toBe('no-cache');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(() => new Script(versioned.text)).not.toThrow();
  });

  it('answers other methods and files on its routes with JSON errors, and HEAD without a body', async () => {
    const post = await call('POST', '/dashboard', { apiKey: null });
    const missing = await call('GET', '/dashboard/secrets.txt', { apiKey: null });
    const head = await call('HEAD', '/dashboard', { apiKey: null });

    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    expect(JSON.parse(post.text).error.code).toBe('method_not_allowed');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.code).toBe('not_found');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('is not part of the api function: the task API does not serve the page', async () => {
    const api = testApi(engine);
    const res = await api(apiEvent('GET', '/dashboard', { apiKey: 'test-key' }), lambdaContext());

    expect(res.statusCode).toBe(404);
  });

  it('builds the page with DOM APIs only: no innerHTML, document.write or eval in the script', async () => {
    const { text } = await call('GET', '/dashboard/app.js', { apiKey: null });

    expect(text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(text).toContain('textContent');
  });
});

describe('GET /stats', () => {
  it('needs the API key', async () => {
    const missing = await call('GET', '/stats', { apiKey: null });
    const wrong = await call('GET', '/stats', { apiKey: 'nope' });

    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(missing.text)).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('counts finished tasks per minute over the last hour, and says how deep the queues are', async () => {
    const ok = await Promise.all(['a', 'b', 'c'].map((m) => enqueue('write_log', { message: m })));
    const failed = await enqueue('fail', { message: 'boom' }, { maxAttempts: 1 });
    const retried = await enqueue('flaky', { failTimes: 1, key: 'stats' });
    await runUntilTerminal(engine, aws, [...ok, failed, retried]);
    await enqueue('write_log', { message: 'still waiting' });
    const cancelled = await enqueue('write_log', { message: 'never' });
    expect((await call('DELETE', `/tasks/${cancelled}`)).status).toBe(200);

    const res = await call('GET', '/stats');
    const body = JSON.parse(res.text) as Awaited<ReturnType<typeof taskStats>>;

    expect(res.status).toBe(200);
    expect(body.totals).toEqual({ succeeded: 4, failed: 1, cancelled: 1 });
    expect(body.windowMinutes).toBe(60);
    expect(body.throughput).toHaveLength(60);
    const total = body.throughput.reduce((t, b) => ({ s: t.s + b.succeeded, f: t.f + b.failed }), { s: 0, f: 0 });
    expect(total).toEqual({ s: 4, f: 1 });
    const last = body.throughput.at(-1)!;
    expect(Date.parse(last.minute)).toBe(Math.floor(Date.parse(body.generatedAt) / 60_000) * 60_000);
    expect(body.throughput.every((b, i) => i === 0 || Date.parse(b.minute) - Date.parse(body.throughput[i - 1]!.minute) === 60_000)).toBe(true);
    // Messages, as SQS counts them: the waiting task's, and the cancelled one's, which the worker has not yet skipped.
    expect(body.queues).toMatchObject({ waiting: 2, inFlight: 0, byPriority: { default: { visible: 2, delayed: 0, inFlight: 0 }, high: { visible: 0 } } });
  });

  it('leaves out minutes before the window', async () => {
    const stats = await taskStats(engine, new Date(Date.now() + 10 * 60_000), 5);

    expect(stats.throughput).toHaveLength(5);
    expect(stats.throughput.every((b) => b.succeeded === 0 && b.failed === 0)).toBe(true);
    expect(stats.totals).toEqual({ succeeded: 0, failed: 0, cancelled: 0 });
  });

  it('reads the same few items whatever the table holds: a Query of counters per hour it spans, and one call per queue', async () => {
    const counting = siblingEngine(aws, engine);
    for (let i = 0; i < 30; i++) await enqueue('write_log', { message: `more ${i}` });

    await taskStats(counting.engine, new Date());

    expect(counting.dynamo.calls.length).toBeLessThanOrEqual(2);
    expect(counting.dynamo.calls.every((c) => c.command === 'Query')).toBe(true);
    expect(counting.dynamo.calls.every((c) => String(c.input.ExpressionAttributeValues[':pk']).startsWith('STATS#'))).toBe(true);
    expect(counting.sqs.calls.map((c) => c.command)).toEqual(['GetQueueAttributes', 'GetQueueAttributes']);
  });
});
