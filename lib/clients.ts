import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The SDK clients, built once per container. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB variables, so local runs
 * need no code path of their own.
 */
export function createDocumentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createSqsClient(): SQSClient {
  return new SQSClient({});
}
