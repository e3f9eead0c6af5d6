import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, TaskNotFoundError } from '../../lib/client';
import type * as tasks from '../../lib/tasks';
import { API_KEY, copyCheckout, freePorts, startStack, type Stack } from '../support/stack';

/**
 * The contract through `npm start`, as a user meets it: the OpenAPI document
 * the api's bundle carries, the typed client, the CLI spawned as
 * `npx tasks ...`, and traces in the file LOCAL_TRACES names (every test here
 * runs with the SDK in the bundles, which changes nothing else). One stack for
 * the whole file.
 */
const checkout = copyCheckout();
const tracesFile = join(checkout.dir, 'traces.jsonl');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(checkout.dir, { LOCAL_DIR: `${checkout.dir}/.local`, LOCAL_FRESH: '1', LOCAL_TRACES: 'traces.jsonl' });
}, 180_000);
afterAll(() => {
  stack?.signal('SIGKILL');
  checkout.remove();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npx tasks ...args` in the checkout, against the stack unless `env` says otherwise. */
function tasksCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tasks', ...args], { cwd: checkout.dir, env: { ...process.env, TASKS_URL: stack.url, TASKS_API_KEY: API_KEY, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the contract through npm start', { timeout: 120_000 }, () => {
  it('serves the OpenAPI document built into the api bundle, without a key: the committed openapi.json', async () => {
    const res = await fetch(`${stack.url}/openapi.json`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')));
  });

  it('runs a task through the typed client, and its errors are typed', async () => {
    const client = createClient<typeof tasks>({ baseUrl: stack.url, apiKey: API_KEY });

    const { taskId } = await client.enqueue('flaky', { failTimes: 0, key: 'e2e' });
    const task = await client.waitFor(taskId, { timeoutMs: 20_000 });

    expect(task).toMatchObject({ status: 'SUCCEEDED', name: 'flaky', result: { key: 'e2e', succeededOnAttempt: 1 } });
    await expect(client.get('01ARZ3NDEKTSV4RRFFQ69G5FAV')).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('enqueues, waits and reads a task with the CLI, in tables for people and JSON for scripts', async () => {
    const enqueued = await tasksCli(['enqueue', 'write_log', '--payload', '{"message":"from the cli"}', '--json']);
    expect(enqueued, enqueued.stderr).toMatchObject({ code: 0 });
    const { taskId } = JSON.parse(enqueued.stdout) as { taskId: string };

    const waited = await tasksCli(['wait', taskId, '--timeout', '30']);
    const shown = await tasksCli(['get', taskId, '--json']);
    const listed = await tasksCli(['list', '--name', 'write_log', '--limit', '5']);
    const stats = await tasksCli(['stats', '--json']);

    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/^status:\s+SUCCEEDED$/m);
    expect(JSON.parse(shown.stdout)).toMatchObject({ taskId, status: 'SUCCEEDED', result: { message: 'from the cli' } });
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS\s+ATTEMPTS\s+CREATED \(UTC\)\s+DURATION$/);
    expect(listed.stdout).toMatch(new RegExp(`^${taskId}\\s+write_log\\s+SUCCEEDED\\s+1/3`, 'm'));
    expect(JSON.parse(stats.stdout)).toMatchObject({ windowMinutes: 60, totals: { succeeded: expect.any(Number) } });
  });

  it('exits 1 when the task it waits for fails, 3 for an unknown id, 2 for a bad command line, 4 when nothing answers', async () => {
    const { stdout } = await tasksCli(['enqueue', 'fail', '-p', '{"message":"on purpose"}', '--max-attempts', '1', '--json']);
    const { taskId } = JSON.parse(stdout) as { taskId: string };
    const [port] = await freePorts(1);

    const failed = await tasksCli(['wait', taskId]);
    const missing = await tasksCli(['get', '01ARZ3NDEKTSV4RRFFQ69G5FAV']);
    const usage = await tasksCli(['enqueue', 'write_log', '--delay', 'later']);
    const unreachable = await tasksCli(['list'], { TASKS_URL: `http://127.0.0.1:${port}` });

    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^error:\s+Error: on purpose$/m);
    expect(missing).toMatchObject({ code: 3, stderr: expect.stringContaining('(task_not_found, HTTP 404)') });
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('--delay must be a whole number from 0 to 31536000, not "later"') });
    expect(unreachable).toMatchObject({ code: 4, stderr: expect.stringContaining('could not be reached') });
  });

  it('cancels and retries with the CLI', async () => {
    const { stdout } = await tasksCli(['enqueue', 'sleep', '-p', '{"ms":1}', '--delay', '600', '--json']);
    const { taskId } = JSON.parse(stdout) as { taskId: string };

    const cancelled = await tasksCli(['cancel', taskId]);
    const again = await tasksCli(['cancel', taskId]);
    const retried = await tasksCli(['retry', taskId, '--json']);

    expect(cancelled).toMatchObject({ code: 0, stdout: `${taskId}  sleep  CANCELLED\n` });
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('(invalid_state, HTTP 409)') });
    expect(JSON.parse(retried.stdout)).toEqual({ taskId, status: 'PENDING', statusUrl: `/tasks/${taskId}` });
  });

  it('tails new tasks and their outcomes until Ctrl+C, then exits 0', async () => {
    // The bin itself (npx would report its own death by SIGINT, not the CLI's exit code), in its
    // own process group as a terminal runs it, so that Ctrl+C reaches the whole group.
    const bin = join(checkout.dir, 'lib/cli/tasks.cjs');
    const child = spawn(bin, ['tail', '--interval', '1', '--backlog', '0'], { cwd: checkout.dir, detached: true, env: { ...process.env, TASKS_URL: stack.url, TASKS_API_KEY: API_KEY } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Let it read its first page (the backlog) before the task appears.
    await new Promise((r) => setTimeout(r, 3_000));

    const { stdout } = await tasksCli(['enqueue', 'write_log', '-p', '{"message":"tailed"}', '--json']);
    const { taskId } = JSON.parse(stdout) as { taskId: string };
    await expect.poll(() => output, { timeout: 30_000, interval: 250 }).toMatch(new RegExp(`${taskId}  write_log  SUCCEEDED`));
    process.kill(-child.pid!, 'SIGINT');

    expect(await exited).toBe(0);
    expect(output.split('\n').filter((l) => l.includes(taskId)).map((l) => l.split('  ')[3])).toEqual(expect.arrayContaining(['SUCCEEDED']));
  });
});

/** A span as the OTLP JSON file holds it. */
interface FileSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  links?: Array<{ traceId: string; spanId: string }>;
  service: string;
}

/** Every span in the file, with the function (faas.name) that made it. */
function spansOnFile(): FileSpan[] {
  if (!existsSync(tracesFile)) return [];
  type Request = { resourceSpans: Array<{ resource: { attributes: FileSpan['attributes'] }; scopeSpans: Array<{ spans: Omit<FileSpan, 'service'>[] }> }> };
  return readFileSync(tracesFile, 'utf8').trimEnd().split('\n').filter(Boolean).flatMap((line) =>
    (JSON.parse(line) as Request).resourceSpans.flatMap((r) => {
      const service = String(r.resource.attributes.find((a) => a.key === 'faas.name')?.value.stringValue);
      return r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, service })));
    }),
  );
}

const attribute = (span: FileSpan, key: string) => Object.values(span.attributes.find((a) => a.key === key)?.value ?? {})[0];

describe('traces through npm start (LOCAL_TRACES)', { timeout: 60_000 }, () => {
  it('puts the request, its enqueue and both attempts of a retried task in the caller’s trace, across the SQS hop', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ name: 'flaky', payload: { failTimes: 1, key: 'traced' } }),
    });
    expect(res.status).toBe(202);
    const { taskId } = (await res.json()) as { taskId: string };
    const task = await createClient<typeof tasks>({ baseUrl: stack.url, apiKey: API_KEY }).waitFor(taskId, { timeoutMs: 30_000 });
    const shown = await tasksCli(['get', taskId]);

    expect(task).toMatchObject({ status: 'SUCCEEDED', attempts: 2, traceId });
    expect(shown.stdout).toMatch(new RegExp(`^trace:\\s+${traceId}$`, 'm'));
    // The worker writes the second attempt's span as it returns; the file may trail the record by a moment.
    await expect.poll(() => spansOnFile().filter((s) => s.traceId === traceId && s.name === 'process flaky').length, { timeout: 10_000 }).toBe(2);
    const spans = spansOnFile().filter((s) => s.traceId === traceId);
    const request = spans.find((s) => s.name === 'POST /tasks')!;
    const send = spans.find((s) => s.name === 'send flaky')!;
    const attempts = spans.filter((s) => s.name === 'process flaky').sort((a, b) => Number(attribute(a, 'task.attempt')) - Number(attribute(b, 'task.attempt')));
    expect(request.parentSpanId).toBe('00f067aa0ba902b7');
    expect(send.parentSpanId).toBe(request.spanId);
    expect(attempts.map((a) => [a.parentSpanId, attribute(a, 'task.id'), attribute(a, 'task.outcome')])).toEqual([
      [send.spanId, taskId, 'failed'],
      [send.spanId, taskId, 'succeeded'],
    ]);
    expect(attempts[1]!.links).toEqual([expect.objectContaining({ traceId, spanId: attempts[0]!.spanId })]);
    // Made in two functions: the api enqueued, the worker ran what SQS delivered.
    expect(request.service).toMatch(/-api$/);
    expect(attempts.map((a) => a.service)).toEqual([expect.stringMatching(/-worker$/), expect.stringMatching(/-worker$/)]);
  });
});
