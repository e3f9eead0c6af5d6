import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testApi } from '../support/api';
import { createEngine, type Engine } from '../../lib/engine';
import '../../lib/tasks';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { apiEvent, lambdaContext } from '../support/events';

let aws: LocalAws;
let engine: Engine;
const lines: string[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  const base = await createTestEngine(aws);
  // Every level on, and every line captured where Powertools writes it.
  const logger = new Logger({ serviceName: 'secrets-test', logLevel: 'DEBUG' });
  engine = createEngine({ ...base, logger });
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  }
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await aws.close();
});

describe('secrets stay out of logs', () => {
  it('logs neither the API key nor a task payload, through enqueue, failure, retry and success', async () => {
    const apiKey = 'sk-live-7f3a9c1e-very-secret';
    const payloadSecret = 'card-4111111111111111';
    const api = testApi(engine, [apiKey]);

    const wrongKey = await api(apiEvent('GET', '/tasks', { apiKey: `${apiKey}-wrong` }), lambdaContext());
    const res = await api(
      apiEvent('POST', '/tasks', { apiKey, body: { name: 'flaky', payload: { failTimes: 1, key: payloadSecret } } }),
      lambdaContext(),
    );
    const { taskId } = JSON.parse(res.body) as { taskId: string };
    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(wrongKey.statusCode).toBe(401);
    expect(record!.status).toBe('SUCCEEDED');
    expect(lines.length).toBeGreaterThan(2); // the capture works: the engine did log
    expect(lines.join('\n')).toContain(taskId);
    const leaked = lines.filter((l) => l.includes(apiKey) || l.includes('very-secret'));
    expect(leaked).toEqual([]);
    // The flaky task's own error message names its key: that is the task's choice, kept on
    // the record for its owner. The engine itself never logs the payload.
    expect(lines.filter((l) => l.includes(payloadSecret) && !l.includes('flaky card-4111'))).toEqual([]);
  });
});
