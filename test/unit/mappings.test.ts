import { describe, expect, it } from 'vitest';
import { queueConsumers } from '../../lib/local/mappings';
import type { ServerlessLike } from '../../lib/local/runtime';

describe('queueConsumers', () => {
  it('names the functions an sqs event invokes, which LOCAL_ENVIRONMENTS leaves uncapped', () => {
    const functions: Record<string, { name: string; events?: Record<string, unknown>[] }> = {
      api: { name: 'svc-api', events: [{ httpApi: '*' }] },
      worker: { name: 'svc-worker', events: [{ sqs: { arn: 'a' } }, { sqs: 'b' }] },
      dlq: { name: 'svc-dlq', events: [{ sqs: { arn: 'c' } }] },
      cron: { name: 'svc-cron' },
    };
    const service = { getAllFunctions: () => Object.keys(functions), getFunction: (key: string) => functions[key]! } as unknown as ServerlessLike['service'];
    expect(queueConsumers(service)).toEqual(['worker', 'dlq']);
  });
});
