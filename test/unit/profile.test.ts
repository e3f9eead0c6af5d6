import { describe, expect, it } from 'vitest';
import { grouped, originOf, summarise, type CpuProfile } from '../../bench/profile';

type Frame = CpuProfile['nodes'][number]['callFrame'];
const frame = (functionName: string, url: string): Frame => ({ functionName, url, lineNumber: 0, columnNumber: 0 });

/** A profile as V8 writes one: nodes, then samples naming a node each, with the microseconds since the one before. */
function profile(frames: Frame[], samples: Array<[nodeIndex: number, us: number]>): CpuProfile {
  return {
    nodes: frames.map((callFrame, i) => ({ id: i + 1, callFrame })),
    samples: samples.map(([i]) => i + 1),
    timeDeltas: samples.map(([, us]) => us),
  };
}

describe('CPU profile summary (npm run profile:local)', () => {
  it('names where code comes from: the innermost npm package, Node core area, our lib/ folder, GC', () => {
    const none = () => undefined;
    expect(originOf(frame('send', 'file:///app/node_modules/@smithy/core/dist-cjs/index.js'), none)).toBe('@smithy/core');
    expect(originOf(frame('x', 'file:///app/node_modules/serverless-offline/node_modules/@hapi/hapi/lib/route.js'), none)).toBe('@hapi/hapi');
    expect(originOf(frame('parse', 'node:internal/http/parser'), none)).toBe('node:http');
    expect(originOf(frame('claimTask', 'file:///app/lib/store/claims.ts'), none)).toBe('lib/store/');
    expect(originOf(frame('claimTask', 'file:///app/lib/store/claims.ts'), none, true)).toBe('lib/store/claims.ts');
    expect(originOf(frame('(garbage collector)', ''), none)).toBe('GC');
    expect(originOf(frame('(idle)', ''), none)).toBeUndefined();
  });

  it('traces a bundled frame through its source map to the package it was bundled from', () => {
    const bundled = frame('sign', 'file:///app/.esbuild/.build/functions/api.js');
    const maps = (url: string) =>
      url === bundled.url ? ({ findEntry: () => ({ originalSource: 'file:///app/node_modules/@smithy/signature-v4/dist-cjs/index.js' }) } as never) : undefined;
    expect(originOf(bundled, maps)).toBe('@smithy/signature-v4');
    expect(originOf(bundled, () => undefined)).toBe('functions/api.js');
  });

  it('adds up busy time by origin, leaves idle time out of the shares, and groups related packages', () => {
    const p = profile(
      [frame('(idle)', ''), frame('send', 'file:///a/node_modules/@smithy/core/x.js'), frame('sign', 'file:///a/node_modules/@aws-sdk/core/y.js'), frame('get', 'file:///a/node_modules/dynalite/db/index.js'), frame('(garbage collector)', '')],
      [[0, 5_000], [1, 3_000], [2, 1_000], [3, 4_000], [1, 1_000], [4, 1_000]],
    );
    const summary = summarise(p, 'main');
    expect(summary.idleMs).toBe(5);
    expect(summary.busyMs).toBe(10);
    expect(summary.byOrigin[0]).toEqual({ origin: '@smithy/core', ms: 4, share: 0.4 });
    expect(summary.byOrigin.map((o) => o.origin)).toEqual(['@smithy/core', 'dynalite', '@aws-sdk/core', 'GC']);
    const groups = grouped([summary, { label: 'other', busyMs: 10, idleMs: 0, byOrigin: [{ origin: 'left-pad', ms: 10, share: 1 }] }]);
    expect(groups).toEqual([
      { group: 'other', ms: 10, share: 0.5 },
      { group: 'AWS SDK', ms: 5, share: 0.25 },
      { group: 'dynalite + LevelDB', ms: 4, share: 0.2 },
      { group: 'GC', ms: 1, share: 0.05 },
    ]);
  });
});
