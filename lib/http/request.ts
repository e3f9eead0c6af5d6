import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { PayloadTooLargeError, ValidationError } from '../errors';
import { UnsupportedMediaTypeError } from './errors';

/** A request as the routes see it: parsed once, headers lower-cased. */
export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  rawBody: string | undefined;
  lambdaContext: Context;
}

/** JSON nested deeper than this is refused: no payload needs it, and deep values break DynamoDB and stack-bound code. */
const MAX_JSON_DEPTH = 32;

export function toApiRequest(event: APIGatewayProxyEventV2, lambdaContext: Context): ApiRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
  const rawBody = event.body === undefined || event.body === null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return {
    method: event.requestContext?.http?.method?.toUpperCase() ?? 'GET',
    path: normalisePath(event.rawPath ?? event.requestContext?.http?.path ?? '/'),
    params: {},
    query: { ...(event.queryStringParameters ?? {}) },
    headers,
    rawBody,
    lambdaContext,
  };
}

/** Parses a JSON body within `limitBytes`; refuses other content types, bad JSON and absurd nesting with a 4xx. */
export function jsonBody(req: ApiRequest, limitBytes: number): unknown {
  const type = req.headers['content-type'];
  if (type && !/^application\/([\w.+-]+\+)?json\b/i.test(type.trim())) throw new UnsupportedMediaTypeError(type);
  const body = req.rawBody ?? '';
  const size = Buffer.byteLength(body, 'utf8');
  if (size > limitBytes) throw new PayloadTooLargeError(size, limitBytes);
  if (body.trim() === '') throw new ValidationError('Request body is empty; a JSON object is required');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('Request body is not valid JSON');
  }
  if (depthOf(value) > MAX_JSON_DEPTH) throw new ValidationError(`JSON is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/** Nesting depth, walked without recursion so hostile input cannot exhaust the stack. */
function depthOf(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    max = Math.max(max, depth);
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(value as object)) stack.push([child, depth + 1]);
  }
  return max;
}

function normalisePath(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return trimmed === '' ? '/' : trimmed;
}
