import { createSocket, type Socket } from 'node:dgram';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * The X-Ray daemon's datagram for OTLP spans: a JSON header line, then `T1S`
 * (OTLP traces, sampled) and the protobuf ExportTraceServiceRequest in
 * base64. It is what AWS's own OpenTelemetry Lambda layers send; the daemon
 * of a Lambda with active tracing forwards it to X-Ray (with CloudWatch
 * Transaction Search on, spans land in the aws/spans log group).
 */
const HEADER = '{"format":"json","version":1}\nT1S';
/** A UDP datagram carries at most 65,507 bytes of payload; the daemon reads up to 64 KB. */
export const MAX_DATAGRAM_BYTES = 64 * 1024 - 1024;

/**
 * Exports spans to the X-Ray daemon over UDP: no connection, no answer to
 * wait for, so a Lambda pays microseconds per span and the invocation never
 * waits on X-Ray. Spans are sent one datagram per export (the span processor
 * hands over one span at a time); one too large for a datagram is dropped
 * with a warning, never split.
 */
export class XrayUdpSpanExporter implements SpanExporter {
  private socket: Socket | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly warn: (message: string) => void = (m) => console.warn(m),
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (!body) return done({ code: ExportResultCode.FAILED });
    const datagram = Buffer.from(HEADER + Buffer.from(body).toString('base64'));
    if (datagram.length > MAX_DATAGRAM_BYTES) {
      this.warn(`Spans dropped: ${datagram.length} bytes is over a datagram's ${MAX_DATAGRAM_BYTES}`);
      return done({ code: ExportResultCode.FAILED });
    }
    this.socket ??= createSocket('udp4').unref();
    this.socket.send(datagram, this.port, this.host, (error) => done({ code: error ? ExportResultCode.FAILED : ExportResultCode.SUCCESS, ...(error ? { error } : {}) }));
  }

  async shutdown(): Promise<void> {
    this.socket?.close();
    this.socket = undefined;
  }
}
