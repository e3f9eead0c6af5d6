import { appendFileSync } from 'node:fs';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * `LOCAL_TRACES=<path>`: each export as one line of OTLP JSON (an
 * ExportTraceServiceRequest), appended: the OpenTelemetry Collector's file
 * format, which its `otlpjsonfile` receiver reads back (to send on to Jaeger,
 * Tempo or X-Ray), and which `jq` reads as it is. Every execution environment
 * of `npm start` appends to the same file; a line is one write, so lines
 * never interleave.
 */
export class OtlpJsonFileExporter implements SpanExporter {
  constructor(private readonly path: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const body = JsonTraceSerializer.serializeRequest(spans);
      if (!body) return done({ code: ExportResultCode.FAILED });
      appendFileSync(this.path, `${Buffer.from(body).toString('utf8')}\n`);
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  async shutdown(): Promise<void> {}
}

/**
 * `LOCAL_TRACES=console`: one line per span, to read while `npm start` runs:
 * its trace and span ids, its parent, name, duration, status and the task's
 * attributes.
 */
export class SpanLineExporter implements SpanExporter {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) this.write(`${spanLine(span)}\n`);
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}

/** `trace <traceId> span <spanId> parent <spanId|-> <name> <ms>ms [ERROR: message] key=value ...` */
export function spanLine(span: ReadableSpan): string {
  const { traceId, spanId } = span.spanContext();
  const parent = span.parentSpanContext?.spanId ?? '-';
  const ms = hrTimeToMilliseconds(span.duration).toFixed(1);
  const status = span.status.code === 2 ? ` ERROR${span.status.message ? `: ${span.status.message}` : ''}` : '';
  const attributes = Object.entries(span.attributes)
    .filter(([key]) => key.startsWith('task.') || key === 'error.type' || key.startsWith('http.'))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ');
  return `trace ${traceId} span ${spanId} parent ${parent} ${span.name} ${ms}ms${status}${attributes ? ` ${attributes}` : ''}`;
}
