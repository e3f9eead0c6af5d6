// First: the OpenTelemetry SDK, where tracing is on (bundled only then: docs/tracing.md).
import '../lib/tracing/setup/register';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import '../lib/tasks';
import { getDefaultEngine } from '../lib/engine';
import { containStrayRejections } from '../lib/strayRejections';
import { flushingTraces } from '../lib/tracing';
import { processBatch } from '../lib/worker';

/** SQS (high and default queues) → runs each task; returns the messages to deliver again. */
export const handler = flushingTraces(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const engine = getDefaultEngine();
  containStrayRejections(engine.logger);
  return processBatch(engine, event, context);
});
