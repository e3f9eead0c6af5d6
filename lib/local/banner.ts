import type { EventSourceMapping } from './eventSource';
import { describeNextRun } from '../schedules/nextRunText';
import type { RecoveryReport } from './recovery';
import type { Endpoint } from './servers';

export interface BannerFacts {
  httpPort: number;
  apiKey: string;
  apiKeyFromEnv: boolean;
  sqs: Endpoint;
  dynamo: Endpoint;
  s3: Endpoint;
  dataDir: string;
  mappings: EventSourceMapping[];
  recovery: RecoveryReport;
  /** The recurring schedules this runtime ticks, with their next runs (epoch ms). */
  schedules: Array<{ name: string; expression: string; timezone: string; nextRunAt?: number }>;
  /** LOCAL_TRACES: `console` or the file spans are appended to. */
  traces?: string;
}

/** The one block `npm start` prints once it is ready: where everything is, and a request to paste. */
export function banner(facts: BannerFacts): string {
  const api = `http://localhost:${facts.httpPort}`;
  const { sqs, dynamo, apiKey, recovery } = facts;
  const requeued = Object.entries(recovery.requeued).map(([status, n]) => `${n} ${status}`);
  const recovered = requeued.length ? `${requeued.join(', ')} task(s) re-queued` : 'nothing to re-queue';
  const lines = [
    '',
    'Background tasks: local stack ready',
    `  API        ${api}`,
    `  Dashboard  ${api}/dashboard`,
    `  API key    ${apiKey}${facts.apiKeyFromEnv ? ' (from API_KEY)' : '  (set API_KEY to change it)'}`,
    `  SQS        ${sqs.url}${sqs.embedded ? '  (embedded, in memory)' : '  (AWS_ENDPOINT_URL_SQS)'}`,
    `  DynamoDB   ${dynamo.url}${dynamo.embedded ? `  (embedded, data in ${facts.dataDir})` : '  (AWS_ENDPOINT_URL_DYNAMODB)'}`,
    `  S3         ${facts.s3.url}${facts.s3.embedded ? `  (embedded, payloads and results over 6 KB, in ${facts.dataDir})` : '  (AWS_ENDPOINT_URL_S3)'}`,
    ...facts.mappings.map(
      (m) => `  Consumer   ${m.functionName} <- ${m.queueArn.split(':').pop()} (batch ${m.batchSize}, ${m.maximumConcurrency} at once)`,
    ),
    ...facts.schedules.map((s) => `  Schedule   ${s.name}: ${s.expression} in ${s.timezone}, next ${describeNextRun(s.nextRunAt, s.timezone)}`),
    `  Recovered  ${recovered}`,
    ...(facts.traces ? [`  Traces     ${facts.traces === 'console' ? 'on this console, one line per span' : `${facts.traces} (OTLP JSON, one line per span)`}  (LOCAL_TRACES)`] : []),
    ...(recovery.failed.length
      ? [`  NOT re-queued: ${recovery.failed.length} task(s) (${recovery.failed.slice(0, 3).join(', ')}${recovery.failed.length > 3 ? ', ...' : ''}); the next start tries again`]
      : []),
    '',
    'Try it:',
    `  curl -X POST '${api}/send-notification?email=a@example.com' -H 'x-api-key: ${apiKey}'`,
    `  curl ${api}/tasks/<taskId> -H 'x-api-key: ${apiKey}'`,
    `  curl ${api}/schedules -H 'x-api-key: ${apiKey}'`,
    '',
    'Ctrl+C stops polling, lets running tasks finish, then exits.',
    '',
  ];
  return lines.join('\n') + '\n';
}
