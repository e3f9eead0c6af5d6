import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { retryDelaySeconds } from '../../lib/backoff';
import { runWithConcurrency } from '../../lib/concurrency';
import { ValidationError } from '../../lib/errors';
import { UnauthorizedError } from '../../lib/http/errors';
import { RESULT_LIMIT_BYTES, resultJson, toTaskError } from '../../lib/taskError';
import { authorize, presentedKey } from '../../lib/http/auth';
import { jsonBody, type ApiRequest } from '../../lib/http/request';
import { errorResponse } from '../../lib/http/response';
import { stableStringify } from '../../lib/requestHash';
import { decodeCursor, encodeCursor, newTaskId, shardOf, TASK_SHARDS } from '../../lib/keys';
import { defineTask } from '../../lib/task';

describe('retryDelaySeconds', () => {
  const backoff = { baseSeconds: 2, maxSeconds: 60 };

  it('grows exponentially up to the cap, jittered between half the step and the whole step', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelaySeconds(a, backoff, () => 1))).toEqual([2, 4, 8, 16, 32, 60, 60]);
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelaySeconds(a, backoff, () => 0))).toEqual([1, 2, 4, 8, 16, 30, 30]);
    expect(retryDelaySeconds(3, backoff, () => 0.5)).toBe(6);
  });
});

describe('task ids and cursors', () => {
  it('makes ids that sort by creation', () => {
    const ids = Array.from({ length: 100 }, newTaskId);
    expect([...ids].sort()).toEqual(ids);
  });

  it('spreads ids over every shard', () => {
    const shards = new Set(Array.from({ length: 400 }, () => shardOf(newTaskId())));
    expect(shards.size).toBe(TASK_SHARDS);
  });

  it('round-trips a cursor and refuses a forged one', () => {
    const id = newTaskId();
    expect(decodeCursor(encodeCursor(id))).toBe(id);
    expect(() => decodeCursor('abc')).toThrow(ValidationError);
    expect(() => decodeCursor(Buffer.from(`v1:${id}' OR 1=1`).toString('base64url'))).toThrow(ValidationError);
  });
});

describe('resultJson and toTaskError', () => {
  it('keeps a result up to 64 KB and replaces a larger one with a marker', () => {
    expect(JSON.parse(resultJson({ a: 1 }))).toEqual({ a: 1 });
    expect(JSON.parse(resultJson(undefined))).toBeNull();
    const big = JSON.parse(resultJson('x'.repeat(RESULT_LIMIT_BYTES + 1))) as { truncated: boolean; sizeBytes: number };
    expect(big).toMatchObject({ truncated: true, sizeBytes: RESULT_LIMIT_BYTES + 3 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(JSON.parse(resultJson(circular))).toMatchObject({ truncated: true, reason: 'not serialisable as JSON' });
  });

  it('keeps type and message of an error, never its stack', () => {
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    const error = toTaskError(new PaymentDeclined('card expired'));
    expect(error).toEqual({ type: 'PaymentDeclined', message: 'card expired' });
    expect(toTaskError('plain string')).toEqual({ type: 'NonErrorThrown', message: 'plain string' });
    expect(toTaskError(new Error('m'.repeat(5000))).message.length).toBeLessThan(1100);
  });
});

describe('auth', () => {
  it('reads the key from x-api-key or a Bearer token', () => {
    expect(presentedKey({ 'x-api-key': 'k1' })).toBe('k1');
    expect(presentedKey({ authorization: 'Bearer k2' })).toBe('k2');
    expect(presentedKey({ authorization: 'Basic k3' })).toBeUndefined();
  });

  it('accepts only a configured key', () => {
    expect(() => authorize({ 'x-api-key': 'right' }, ['other', 'right'])).not.toThrow();
    expect(() => authorize({ 'x-api-key': 'righ' }, ['right'])).toThrow(UnauthorizedError);
    expect(() => authorize({}, ['right'])).toThrow(UnauthorizedError);
  });
});

describe('request bodies', () => {
  const req = (rawBody: string, contentType?: string): ApiRequest =>
    ({ method: 'POST', path: '/tasks', params: {}, query: {}, headers: contentType ? { 'content-type': contentType } : {}, rawBody }) as unknown as ApiRequest;

  it('refuses JSON nested deeper than 32 levels without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => jsonBody(req(deep), 1e7)).toThrow(/nested deeper/);
    expect(jsonBody(req('{"a":[1,{"b":2}]}', 'application/json; charset=utf-8'), 1000)).toEqual({ a: [1, { b: 2 }] });
  });

  it('maps errors to JSON with the right status, and hides internals behind a 500', () => {
    const internal = errorResponse(new TypeError('secret at /var/task/index.js:1'));
    expect(internal.statusCode).toBe(500);
    expect(internal.body).not.toContain('/var/task');
    expect(errorResponse(new ValidationError('bad')).statusCode).toBe(400);
  });
});

describe('defineTask', () => {
  it('refuses bad options and duplicate names', () => {
    const run = () => undefined;
    expect(() => defineTask({ name: 'bad name!', payload: z.object({}), run })).toThrow(/must match/);
    expect(() => defineTask({ name: 'unit_zero', payload: z.object({}), maxAttempts: 0, run })).toThrow(/maxAttempts/);
    defineTask({ name: 'unit_once', payload: z.object({}), run });
    expect(() => defineTask({ name: 'unit_once', payload: z.object({}), run })).toThrow(/already defined/);
  });
});

describe('stableStringify', () => {
  it('is independent of key order', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe(stableStringify({ a: { c: 3, d: 2 }, b: 1 }));
  });
});

describe('runWithConcurrency', () => {
  it('never runs more than the limit at once, and one rejection stops nothing', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await runWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      if (n === 2) throw new Error('two');
      done.push(n);
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 3, 4, 5, 6, 7]);
  });
});
