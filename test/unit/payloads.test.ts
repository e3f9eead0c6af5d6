import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../lib/errors';
import { EMBEDDED_PAYLOAD_BYTES, LAMBDA_PAYLOAD_BYTES, MAX_OBJECT_BYTES, S3_THRESHOLD_BYTES, TABLE_ONLY_LIMITS } from '../../lib/payloads/limits';
import { payloadObjectKey, resultObjectKey } from '../../lib/payloads/objectKeys';
import type { PayloadObjects } from '../../lib/payloads/objectStore';
import { payloadLimit, storePayload, storePayloads } from '../../lib/payloads/storePayload';
import { storeResult } from '../../lib/payloads/storeResult';
import { answerBytes } from '../../lib/payloads/taskObjects';
import type { StateItem } from '../../lib/store/items';

/**
 * The lines between the table and S3, at their boundaries, with a bucket
 * that records what is written to it (the S3 calls themselves are tested
 * against the local S3 server: test/integration/payloads.test.ts).
 */
function bucket(fail = false) {
  const puts: Array<{ key: string; bytes: number }> = [];
  const objects = {
    put: async (key: string, json: string) => {
      if (fail) throw new DependencyUnavailableError('s3', 'PutObject', new Error('refused'));
      puts.push({ key, bytes: Buffer.byteLength(json) });
    },
  } as unknown as PayloadObjects;
  return { objects, puts };
}

const claimed = { taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', run: 2, attempts: 3 } as StateItem;
/** A result whose JSON is exactly `bytes` long: a string of bytes - 2 characters and its quotes. */
const resultOf = (bytes: number) => 'r'.repeat(bytes - 2);

describe('the lines, as numbers', () => {
  it('puts S3 at 6 KB, 5 MB at most, within Lambda’s 6 MB; 256 KB and 64 KB without a bucket', () => {
    expect([S3_THRESHOLD_BYTES, MAX_OBJECT_BYTES, LAMBDA_PAYLOAD_BYTES, EMBEDDED_PAYLOAD_BYTES]).toEqual([6144, 5_242_880, 6_291_456, 262_144]);
    expect(TABLE_ONLY_LIMITS).toEqual({ payloadBytes: 262_144, resultBytes: 65_536 });
    expect(payloadLimit({ objects: bucket().objects })).toBe(MAX_OBJECT_BYTES);
    expect(payloadLimit({ objects: undefined })).toBe(256 * 1024);
  });

  it('names a payload by its task and a result by its attempt', () => {
    expect(payloadObjectKey('T1')).toBe('payloads/T1.json');
    expect(resultObjectKey('T1', 2, 3)).toBe('results/T1/2-3.json');
  });

  it('counts a record as Lambda returns it: its JSON as a string, each quote escaped', () => {
    expect(answerBytes({ a: 'x' })).toBe(JSON.stringify(JSON.stringify({ a: 'x' })).length);
    expect(answerBytes({ q: '"' })).toBe('"{\\"q\\":\\"\\\\\\"\\"}"'.length);
  });
});

describe('storePayload', () => {
  it('keeps 6 KB in the table and sends one byte more to S3, under the task’s key', async () => {
    const { objects, puts } = bucket();
    expect(await storePayload({ objects }, 'T1', { payloadJson: 'x', payloadBytes: S3_THRESHOLD_BYTES })).toBeUndefined();
    expect(await storePayload({ objects }, 'T2', { payloadJson: 'y'.repeat(S3_THRESHOLD_BYTES + 1), payloadBytes: S3_THRESHOLD_BYTES + 1 })).toBe('payloads/T2.json');
    expect(puts).toEqual([{ key: 'payloads/T2.json', bytes: S3_THRESHOLD_BYTES + 1 }]);
    expect(await storePayload({ objects: undefined }, 'T3', { payloadJson: 'z', payloadBytes: MAX_OBJECT_BYTES })).toBeUndefined();
  });

  it('of many: the keys of what went to S3, and each failure by task', async () => {
    const ok = bucket();
    const big = { payloadJson: 'b', payloadBytes: S3_THRESHOLD_BYTES + 1 };
    expect(await storePayloads({ objects: ok.objects }, [{ taskId: 'A', ...big }, { taskId: 'B', payloadJson: 's', payloadBytes: 1 }])).toEqual({
      keys: new Map([['A', 'payloads/A.json']]),
      failures: new Map(),
    });
    const refused = await storePayloads({ objects: bucket(true).objects }, [{ taskId: 'A', ...big }, { taskId: 'B', payloadJson: 's', payloadBytes: 1 }]);
    expect([...refused.failures.keys()]).toEqual(['A']);
    expect(refused.failures.get('A')).toMatchObject({ code: 'service_unavailable', message: 'S3 PutObject failed' });
    expect(refused.keys.size).toBe(0);
  });
});

describe('storeResult', () => {
  it('keeps 6 KB in the state, sends one byte more to S3 under the attempt’s key, and marks one byte over 5 MB', async () => {
    const { objects, puts } = bucket();
    expect(await storeResult({ objects }, claimed, resultOf(S3_THRESHOLD_BYTES))).toEqual({ ok: true, result: { resultJson: JSON.stringify(resultOf(S3_THRESHOLD_BYTES)) } });
    expect(await storeResult({ objects }, claimed, resultOf(S3_THRESHOLD_BYTES + 1))).toEqual({
      ok: true,
      result: { resultObject: { key: `results/${claimed.taskId}/2-3.json`, bytes: S3_THRESHOLD_BYTES + 1 } },
    });
    expect(await storeResult({ objects }, claimed, resultOf(MAX_OBJECT_BYTES))).toMatchObject({ ok: true, result: { resultObject: { bytes: MAX_OBJECT_BYTES } } });
    const over = await storeResult({ objects }, claimed, resultOf(MAX_OBJECT_BYTES + 1));
    expect(over).toEqual({
      ok: true,
      result: { resultJson: JSON.stringify({ truncated: true, reason: `result is ${MAX_OBJECT_BYTES + 1} bytes; the limit is ${MAX_OBJECT_BYTES}`, sizeBytes: MAX_OBJECT_BYTES + 1 }) },
    });
    expect(puts.map((p) => p.bytes)).toEqual([S3_THRESHOLD_BYTES + 1, MAX_OBJECT_BYTES]);
  });

  it('without a bucket keeps up to 64 KB in the state; a write S3 refuses is ResultNotStored', async () => {
    expect(await storeResult({ objects: undefined }, claimed, resultOf(64 * 1024))).toEqual({ ok: true, result: { resultJson: JSON.stringify(resultOf(64 * 1024)) } });
    expect(await storeResult({ objects: undefined }, claimed, resultOf(64 * 1024 + 1))).toMatchObject({ ok: true, result: { resultJson: expect.stringContaining('"truncated":true') } });
    const refused = await storeResult({ objects: bucket(true).objects }, claimed, resultOf(10_000));
    expect(refused).toMatchObject({ ok: false, error: { type: 'ResultNotStored', message: 'The result (10000 bytes) could not be written to S3: S3 PutObject failed' } });
  });
});
