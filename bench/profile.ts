import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
  samples: number[];
  /** Microseconds since the previous sample, one per sample. */
  timeDeltas: number[];
}

export interface ThreadSummary {
  /** Which thread: from the profile's file name and the code it ran. */
  label: string;
  /** Milliseconds of samples that were not idle. */
  busyMs: number;
  idleMs: number;
  /** Busy time by where the code comes from (npm package, Node core area, our file, GC), largest first. */
  byOrigin: { origin: string; ms: number; share: number }[];
}

/** A bundle's source map, read once per file; undefined when it has none. */
type MapLookup = (url: string) => SourceMap | undefined;

export function sourceMapsBeside(): MapLookup {
  const maps = new Map<string, SourceMap | undefined>();
  return (url) => {
    if (!maps.has(url)) {
      const path = url.startsWith('file://') ? new URL(url).pathname : url;
      const mapPath = `${path}.map`;
      maps.set(url, path.endsWith('.js') && existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')) as never) : undefined);
    }
    return maps.get(url);
  };
}

/**
 * Where a sampled function's code comes from. A frame in a bundle (the
 * handlers run esbuild's output) is traced through the bundle's source map to
 * the file it was bundled from, so the AWS SDK inside a handler counts as the
 * AWS SDK.
 */
export function originOf(frame: CpuProfile['nodes'][number]['callFrame'], maps: MapLookup, byFile = false): string | undefined {
  const { functionName, url } = frame;
  if (functionName === '(idle)') return undefined;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8 and native code';
  if (url === '') return functionName === '(root)' ? 'V8 and native code' : 'V8 builtins';
  if (url.startsWith('node:')) return `node:${url.slice('node:'.length).replace(/^internal\//, '').split('/')[0]!.replace(/\.js$/, '')}`;
  let path = url.startsWith('file://') ? new URL(url).pathname : url;
  const entry = maps(url)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string } | undefined;
  if (entry?.originalSource) path = entry.originalSource;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)(.*)$/.exec(path);
  if (inPackage) return byFile ? `${inPackage[1]!}/${inPackage[2]!}` : inPackage[1]!;
  const ours = /(?:^|\/)((?:lib|functions)\/.+)$/.exec(path);
  if (ours) return byFile ? ours[1]! : ours[1]!.replace(/^lib\/([^/]+)\/.*$/, 'lib/$1/');
  return path.split('/').slice(-2).join('/');
}

/** Busy time of one thread's profile, by origin: npm package, or with `byFile` the file within it. */
export function summarise(profile: CpuProfile, label: string, maps: MapLookup = () => undefined, byFile = false): ThreadSummary {
  const nodeOrigin = new Map<number, string | undefined>();
  for (const node of profile.nodes) nodeOrigin.set(node.id, originOf(node.callFrame, maps, byFile));
  const byOrigin = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const origin = nodeOrigin.get(id);
    if (origin === undefined) {
      idleUs += us;
      return;
    }
    busyUs += us;
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  });
  return {
    label,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    byOrigin: [...byOrigin]
      .map(([origin, us]) => ({ origin, ms: us / 1000, share: busyUs ? us / busyUs : 0 }))
      .sort((a, b) => b.ms - a.ms),
  };
}

/** Related origins added up, for the one-line picture: the AWS SDK, dynalite with LevelDB, offline with hapi. */
export const GROUPS: { name: string; matches: (origin: string) => boolean }[] = [
  { name: 'AWS SDK', matches: (o) => /^@(aws-sdk|smithy|aws-crypto)\//.test(o) || o === 'fast-xml-parser' || o === 'tslib' },
  { name: 'dynalite + LevelDB', matches: (o) => /^(dynalite|classic-level|abstract-level|memory-level|level|level-.*|lazy|lock|big\.js|buffer-crc32|async|once|module-error|maybe-combine-errors|napi-macros|node-gyp-build)$/.test(o) },
  { name: 'serverless-offline + hapi', matches: (o) => o === 'serverless-offline' || o.startsWith('@hapi/') || o === 'serverless' },
  { name: 'local-aws-sqs', matches: (o) => /^(local-aws-sqs|aws-md5-of-message-attributes|aws-query-decoder)$/.test(o) },
  { name: 'Powertools', matches: (o) => o.startsWith('@aws-lambda-powertools/') },
  { name: 'Node HTTP and sockets', matches: (o) => /^node:(http|_http_.*|net|stream|streams|dns|url|buffer|timers|events|async_hooks)$/.test(o) },
  { name: 'GC', matches: (o) => o === 'GC' },
  { name: 'ours (lib/, functions/)', matches: (o) => /^(lib|functions)\//.test(o) },
];

export function grouped(summaries: ThreadSummary[]): { group: string; ms: number; share: number }[] {
  const busy = summaries.reduce((sum, s) => sum + s.busyMs, 0);
  const totals = new Map<string, number>();
  for (const s of summaries) {
    for (const { origin, ms } of s.byOrigin) {
      const group = GROUPS.find((g) => g.matches(origin))?.name ?? 'other';
      totals.set(group, (totals.get(group) ?? 0) + ms);
    }
  }
  return [...totals].map(([group, ms]) => ({ group, ms, share: busy ? ms / busy : 0 })).sort((a, b) => b.ms - a.ms);
}
