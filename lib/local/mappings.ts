import type { EventSourceMapping } from './eventSource';
import type { CreatedResources } from './resources';
import type { ServerlessLike } from './runtime';

/** Lambda polls a queue with up to 1,000 concurrent batches unless capped; locally a few are plenty. */
const DEFAULT_LOCAL_CONCURRENCY = 5;
/** Lambda's default function timeout. */
const DEFAULT_TIMEOUT_SECONDS = 6;

/** The `sqs` events of one function in serverless.yml. */
function sqsEvents(fn: ReturnType<ServerlessLike['service']['getFunction']>): Array<Record<string, unknown> | string> {
  return (fn.events ?? []).flatMap((event) => (event.sqs ? [event.sqs as Record<string, unknown> | string] : []));
}

/** The functions that an SQS event source invokes (their concurrency is the mappings'). */
export function queueConsumers(service: ServerlessLike['service']): string[] {
  return service.getAllFunctions().filter((key) => sqsEvents(service.getFunction(key)).length > 0);
}

/**
 * Every `sqs` event of every function in serverless.yml, matched to its local
 * queue: one mapping per event, as AWS creates one event source mapping per
 * event. An event naming a queue the resources do not declare is reported to
 * `skipped` and not emulated.
 */
export function eventSourceMappings(
  service: ServerlessLike['service'],
  resources: CreatedResources,
  skipped: (functionKey: string, arn: string) => void,
): EventSourceMapping[] {
  const mappings: EventSourceMapping[] = [];
  for (const key of service.getAllFunctions()) {
    const fn = service.getFunction(key);
    for (const sqs of sqsEvents(fn)) {
      const spec = typeof sqs === 'string' ? { arn: sqs } : sqs;
      const arn = String(resources.resolve(spec.arn));
      const queue = [...resources.queues.values()].find((q) => q.arn === arn);
      if (!queue) {
        skipped(key, arn);
        continue;
      }
      mappings.push({
        functionName: fn.name,
        functionTimeoutSeconds: Number(fn.timeout ?? service.provider.timeout ?? DEFAULT_TIMEOUT_SECONDS),
        queueUrl: queue.url,
        queueArn: queue.arn,
        region: service.provider.region,
        batchSize: Number(spec.batchSize ?? 10),
        maximumBatchingWindowSeconds: Number(spec.maximumBatchingWindow ?? 0),
        maximumConcurrency: Number(spec.maximumConcurrency ?? DEFAULT_LOCAL_CONCURRENCY),
        reportBatchItemFailures: spec.functionResponseType === 'ReportBatchItemFailures',
      });
    }
  }
  return mappings;
}
