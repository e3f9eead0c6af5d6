import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import '../lib/tasks';
import { getDefaultEngine } from '../lib/engine';
import { processBatch } from '../lib/worker';

/** SQS (high and default queues) → runs each task; returns the messages to deliver again. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processBatch(getDefaultEngine(), event, context);
