import { request } from 'node:http';
import type { SQSEvent } from 'aws-lambda';
import type { Invoke, InvokeResult } from './eventSource';

/** Time past the function's own timeout before the invocation is given up: offline ends it at its timeout. */
const TIMEOUT_MARGIN_MS = 30_000;

/**
 * Invokes a function through serverless-offline's Lambda endpoint (the
 * Invoke API's route, RequestResponse), so a batch runs the same bundled
 * handler, in the same worker-thread sandbox and under the same timeout as
 * offline gives any Lambda: the code path AWS's event source takes.
 * node:http rather than fetch: fetch gives up on a response whose headers
 * take more than 5 minutes, and a worker may run for 15.
 */
export function invokeThroughOffline(lambdaEndpoint: string, marginMs = TIMEOUT_MARGIN_MS): Invoke {
  return async (functionName: string, event: SQSEvent, timeoutSeconds: number): Promise<InvokeResult> => {
    const url = `${lambdaEndpoint}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
    let response: { status: number; headers: Record<string, string | string[] | undefined>; text: string };
    try {
      response = await post(url, JSON.stringify(event), timeoutSeconds * 1000 + marginMs);
    } catch (error) {
      return { ok: false, error: `invoke failed: ${(error as Error).message}` };
    }
    const { status, headers, text } = response;
    const payload = parse(text);
    const functionError = header(headers['x-amz-function-error']) ?? header(headers['x-amzn-errortype']);
    if (status >= 300 || functionError) {
      const body = payload as { errorMessage?: string; Message?: string } | undefined;
      const message = body?.errorMessage ?? body?.Message;
      return { ok: false, error: `${functionError ?? `HTTP ${status}`}: ${message ?? text.slice(0, 200)}` };
    }
    return { ok: true, payload };
  };
}

function post(url: string, body: string, timeoutMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-amz-invocation-type': 'RequestResponse' },
      timeout: timeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
