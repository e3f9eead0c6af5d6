import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processDeadLetters } from '../lib/deadLetters';
import { getDefaultEngine } from '../lib/engine';

/** The dead-letter queues → marks their tasks FAILED. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processDeadLetters(getDefaultEngine(), event, context);
