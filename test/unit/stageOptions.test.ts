import { describe, expect, it } from 'vitest';
import stageOptions from '../../lib/build/stageOptions.cjs';

/** serverless.yml's `${file(./lib/build/stageOptions.cjs):name}`, with `params` as the stage's params. */
const resolve = (name: keyof typeof stageOptions, params: Record<string, string>) =>
  stageOptions[name]({ resolveVariable: async (v: string) => params[v.replace(/^param:/, '').replace(/, ''$/, '')] ?? '' });

describe('the tracing stage param', () => {
  it('is off unless set to xray, and nothing else', async () => {
    expect(await resolve('tracing', {})).toBe('off');
    expect(await resolve('tracing', { tracing: 'off' })).toBe('off');
    expect(await resolve('tracing', { tracing: ' XRay ' })).toBe('xray');
    await expect(resolve('tracing', { tracing: 'jaeger' })).rejects.toThrow('tracing must be one of off, xray; got "jaeger"');
  });

  it('turns on Lambda’s active tracing and X-Ray’s write calls only when on', async () => {
    expect(await resolve('lambdaTracing', {})).toBe(false);
    expect(await resolve('lambdaTracing', { tracing: 'xray' })).toBe('Active');
    expect(await resolve('xrayStatement', {})).toEqual({ Ref: 'AWS::NoValue' });
    expect(await resolve('xrayStatement', { tracing: 'xray' })).toEqual({ Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' });
  });
});
