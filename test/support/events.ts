import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';

/** Receives up to `max` messages and shapes them as the SQS event a Lambda gets. */
export async function receiveEvent(sqs: SQSClient, queueUrl: string, max = 10, waitSeconds = 1): Promise<SQSEvent> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const name = queueUrl.split('/').at(-1)!;
  return {
    Records: (out.Messages ?? []).map(
      (m): SQSRecord => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: 'AIDLOCAL',
          ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody!,
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${name}`,
        awsRegion: 'us-east-1',
      }),
    ),
  };
}

/** Receives until `count` messages arrived or `timeoutMs` passed. */
export async function receiveAll(sqs: SQSClient, queueUrl: string, count: number, timeoutMs = 10_000): Promise<SQSEvent> {
  const records: SQSRecord[] = [];
  const until = Date.now() + timeoutMs;
  while (records.length < count && Date.now() < until) {
    records.push(...(await receiveEvent(sqs, queueUrl, Math.min(10, count - records.length))).Records);
  }
  return { Records: records };
}

export function lambdaContext(remainingMs = 900_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'background-tasks-test-worker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:background-tasks-test-worker',
    memoryLimitInMB: '512',
    awsRequestId: 'test-request',
    logGroupName: '/aws/lambda/test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface ApiEventInit {
  body?: string | object;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  apiKey?: string | null;
}

/** An API Gateway HTTP API (payload 2.0) event, as the api Lambda receives it. */
export function apiEvent(method: string, path: string, init: ApiEventInit = {}): APIGatewayProxyEventV2 {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const headers: Record<string, string> = {
    host: 'api.example.test',
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(init.apiKey === null ? {} : { 'x-api-key': init.apiKey ?? 'test-key' }),
    ...init.headers,
  };
  const query = init.query;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    headers,
    queryStringParameters: query,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

/** Receives the one message of `taskId` from `queueUrl`; fails the test if another message comes first. */
export async function receiveTaskMessage(sqs: SQSClient, queueUrl: string, taskId: string): Promise<SQSRecord> {
  const record = (await receiveAll(sqs, queueUrl, 1)).Records[0];
  if (!record || (JSON.parse(record.body) as { taskId?: string }).taskId !== taskId) throw new Error(`expected the message of ${taskId}, got ${record?.body ?? 'none'}`);
  return record;
}
