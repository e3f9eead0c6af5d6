import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { flushingTraces, flushTraces } from '../../lib/tracing/flush';
import { OtlpJsonFileExporter, SpanLineExporter } from '../../lib/tracing/setup/fileExporters';
import { setupTracing } from '../../lib/tracing/setup/provider';
import { MAX_DATAGRAM_BYTES, XrayUdpSpanExporter } from '../../lib/tracing/setup/xrayUdpExporter';

/**
 * The exporters lib/tracing/setup configures, against real sockets and files:
 * UDP datagrams to a stand-in for Lambda's X-Ray daemon, OTLP JSON lines in a
 * file, one line per span on the console.
 */
let dir: string;
let daemon: Socket;
let port: number;
const datagrams: Buffer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'traces-'));
  daemon = createSocket('udp4');
  daemon.on('message', (m) => datagrams.push(m));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  port = daemon.address().port;
});
afterAll(() => {
  daemon.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A provider (not registered globally) exporting through `exporter`, and one ended span of it. */
async function endSpan(exporter: SpanExporter, attributes: Record<string, string> = {}) {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const span = provider.getTracer('test').startSpan('process write_log', { attributes: { 'task.id': '01ARZ3NDEKTSV4RRFFQ69G5FAV', ...attributes } });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  span.end();
  // A failed export rejects the flush (flushTraces swallows it): the tests read what was sent instead.
  await provider.forceFlush().catch(() => undefined);
  return span.spanContext();
}

async function waitFor<T>(get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = get();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('nothing came');
}

describe('the X-Ray daemon exporter', () => {
  it('sends each span as a datagram the daemon reads: its header, then T1S and the OTLP protobuf request in base64', async () => {
    datagrams.length = 0;
    const exporter = new XrayUdpSpanExporter('127.0.0.1', port);
    const { traceId, spanId } = await endSpan(exporter);
    const datagram = await waitFor(() => datagrams[0]);
    await exporter.shutdown();

    const text = datagram.toString('utf8');
    const [header, body] = text.split('\n') as [string, string];
    expect(header).toBe('{"format":"json","version":1}');
    expect(body.startsWith('T1S')).toBe(true);
    const protobuf = Buffer.from(body.slice(3), 'base64');
    expect(protobuf.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    expect(protobuf.includes(Buffer.from(spanId, 'hex'))).toBe(true);
    expect(protobuf.includes(Buffer.from('process write_log'))).toBe(true);
    expect(datagrams).toHaveLength(1);
  });

  it('drops a span too large for one datagram, with a warning, and sends nothing', async () => {
    datagrams.length = 0;
    const warnings: string[] = [];
    const exporter = new XrayUdpSpanExporter('127.0.0.1', port, (m) => warnings.push(m));
    await endSpan(exporter, { big: 'x'.repeat(MAX_DATAGRAM_BYTES) });
    await new Promise((r) => setTimeout(r, 50));
    await exporter.shutdown();

    expect(datagrams).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Spans dropped: \d+ bytes is over a datagram's 64512$/);
  });
});

describe('the local exporters', () => {
  it('append one OTLP JSON request per export to a file, ids in hex as OTLP JSON has them', async () => {
    const file = join(dir, 'one.jsonl');
    const first = await endSpan(new OtlpJsonFileExporter(file));
    const second = await endSpan(new OtlpJsonFileExporter(file));

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> });
    expect(lines).toHaveLength(2);
    const spans = lines.map((l) => l.resourceSpans[0]!.scopeSpans[0]!.spans[0]!);
    expect(spans.map((s) => [s.traceId, s.spanId, s.name])).toEqual([
      [first.traceId, first.spanId, 'process write_log'],
      [second.traceId, second.spanId, 'process write_log'],
    ]);
    expect(spans[0]!.status).toEqual({ code: 2, message: 'boom' });
  });

  it('report a file they cannot write to as a failed export, never a throw', async () => {
    const results: number[] = [];
    const exporter = new OtlpJsonFileExporter(join(dir, 'no-such-folder', 'traces.jsonl'));
    const provider = new BasicTracerProvider();
    const span = provider.getTracer('t').startSpan('x');
    span.end();
    exporter.export([span as never], (r) => results.push(r.code));
    expect(results).toEqual([1]);
  });

  it('print one line per span on the console: ids, parent, name, duration, status and the task’s attributes', async () => {
    const lines: string[] = [];
    const { traceId, spanId } = await endSpan(new SpanLineExporter((l) => lines.push(l)), { 'messaging.system': 'aws_sqs' });

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^trace ${traceId} span ${spanId} parent - process write_log \\d+\\.\\dms ERROR: boom task\\.id="01ARZ3NDEKTSV4RRFFQ69G5FAV"\\n$`));
  });
});

describe('setupTracing and flushTraces', () => {
  afterEach(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('register an SDK from LOCAL_TRACES whose spans are on file once the handler returns, nested by context', async () => {
    const file = join(dir, 'setup.jsonl');
    const provider = setupTracing({ LOCAL_TRACES: file, POWERTOOLS_SERVICE_NAME: 'svc', STAGE: 'dev', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'svc-dev-worker' });
    expect(provider).toBeDefined();
    const handler = flushingTraces(async () =>
      trace.getTracer('t').startActiveSpan('outer', async (outer) => {
        trace.getTracer('t').startSpan('inner').end();
        outer.end();
        return outer.spanContext();
      }),
    );

    const outer = await handler();

    const requests = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue: string } }> }; scopeSpans: Array<{ spans: Array<{ name: string; parentSpanId?: string; traceId: string }> }> }> });
    const spans = requests.map((r) => r.resourceSpans[0]!.scopeSpans[0]!.spans[0]!);
    expect(spans.map((s) => s.name)).toEqual(['inner', 'outer']);
    expect(spans[0]).toMatchObject({ parentSpanId: outer.spanId, traceId: outer.traceId });
    const resource = Object.fromEntries(requests[0]!.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(resource).toMatchObject({ 'service.name': 'svc', 'deployment.environment.name': 'dev', 'cloud.region': 'eu-west-1', 'faas.name': 'svc-dev-worker', 'cloud.provider': 'aws', 'cloud.platform': 'aws_lambda' });
  });

  it('flushTraces waits at most a second for a provider whose flush never ends, and never throws', async () => {
    const hanging = { getTracer: () => trace.getTracer('x'), forceFlush: () => new Promise<void>(() => undefined) };
    trace.setGlobalTracerProvider(hanging as never);
    const started = Date.now();
    await flushTraces();
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(Date.now() - started).toBeLessThan(3_000);
    trace.disable();
    trace.setGlobalTracerProvider({ getTracer: () => trace.getTracer('x'), forceFlush: () => Promise.reject(new Error('export failed')) } as never);
    await flushTraces();
  });

  it('flushTraces returns at once without an SDK, and flushingTraces passes a throw through', async () => {
    await flushTraces();
    await expect(flushingTraces(async () => Promise.reject(new Error('handler failed')))()).rejects.toThrow('handler failed');
  });
});
