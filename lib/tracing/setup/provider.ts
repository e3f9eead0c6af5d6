import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OtlpJsonFileExporter, SpanLineExporter } from './fileExporters';
import { traceExportOf, type TraceExport } from './settings';
import { XrayUdpSpanExporter } from './xrayUdpExporter';

/**
 * Sets up the OpenTelemetry SDK as the environment asks (settings.ts), and
 * registers it globally, so the engine's API calls record and export spans:
 * a tracer provider, the AsyncLocalStorage context manager (a task's own
 * spans nest under its attempt), and the W3C propagator (for the task's own
 * outgoing calls). Spans are exported as each ends (SimpleSpanProcessor): a
 * Lambda may freeze once its handler returns, and `flushTraces` waits for
 * what is still being sent. Returns the provider, or undefined when tracing is off.
 */
export function setupTracing(env: NodeJS.ProcessEnv = process.env): BasicTracerProvider | undefined {
  const target = traceExportOf(env);
  if (!target) return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.POWERTOOLS_SERVICE_NAME ?? 'background-tasks',
      'cloud.provider': 'aws',
      'cloud.platform': 'aws_lambda',
      ...(env.AWS_REGION ? { 'cloud.region': env.AWS_REGION } : {}),
      ...(env.AWS_LAMBDA_FUNCTION_NAME ? { 'faas.name': env.AWS_LAMBDA_FUNCTION_NAME } : {}),
      ...(env.STAGE ? { 'deployment.environment.name': env.STAGE } : {}),
    }),
    spanProcessors: [new SimpleSpanProcessor(exporterFor(target))],
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return provider;
}

export function exporterFor(target: TraceExport): SpanExporter {
  switch (target.kind) {
    case 'xray':
      return new XrayUdpSpanExporter(target.host, target.port);
    case 'console':
      return new SpanLineExporter();
    case 'file':
      return new OtlpJsonFileExporter(target.path);
  }
}
