import type { SQSEvent } from 'aws-lambda';
import type { Invoke, InvokeResult } from './eventSource';

/**
 * Invokes a function through serverless-offline's Lambda endpoint (the
 * Invoke API's route, RequestResponse), so a batch runs the same bundled
 * handler, in the same worker-thread sandbox and under the same timeout as
 * offline gives any Lambda: the code path AWS's event source takes.
 */
export function invokeThroughOffline(lambdaEndpoint: string): Invoke {
  return async (functionName: string, event: SQSEvent): Promise<InvokeResult> => {
    let response: Response;
    try {
      response = await fetch(`${lambdaEndpoint}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
        body: JSON.stringify(event),
      });
    } catch (error) {
      return { ok: false, error: `invoke failed: ${(error as Error).message}` };
    }
    const text = await response.text();
    const payload = parse(text);
    const functionError = response.headers.get('x-amz-function-error') ?? response.headers.get('x-amzn-errortype');
    if (!response.ok || functionError) {
      const message = (payload as { errorMessage?: string; Message?: string } | undefined)?.errorMessage ?? (payload as { Message?: string })?.Message;
      return { ok: false, error: `${functionError ?? `HTTP ${response.status}`}: ${message ?? text.slice(0, 200)}` };
    }
    return { ok: true, payload };
  };
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
