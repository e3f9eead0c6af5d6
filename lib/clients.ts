import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

/**
 * Every try of every call is bounded (the SDK's defaults wait for minutes):
 * a connection within a second, an answer within three (DynamoDB and SQS
 * answer in milliseconds). A try that runs out is a TimeoutError, which the
 * SDK retries like a 500; the invocation's budget (deadline.ts) bounds the
 * sum. `throwOnRequestTimeout`: without it the SDK only warns.
 */
export const CALL_TIMEOUTS = { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true } as const;

/**
 * The SDK clients, built once per container. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB variables, so local runs
 * need no code path of their own.
 */
export function createDynamoClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ requestHandler: CALL_TIMEOUTS, ...config });
}

export function createDocumentClient(client: DynamoDBClient = createDynamoClient()): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createSqsClient(config: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ requestHandler: CALL_TIMEOUTS, ...config });
}
