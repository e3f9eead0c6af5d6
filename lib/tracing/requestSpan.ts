import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { HTTP_METHOD, HTTP_ROUTE, HTTP_STATUS, URL_PATH } from './attributes';
import { withIncomingTrace } from './incomingTrace';
import { tracer } from './tracer';

/** The parts of an API Gateway (payload 2.0) event a request span reads. */
interface HttpEventLike {
  headers?: Record<string, string | undefined> | null;
  rawPath?: string;
  requestContext?: { http?: { method?: string } };
}

/**
 * Runs one HTTP request of the api as a server span, in the trace its
 * `traceparent` names (or a new one), so the request, the enqueues it makes
 * and every attempt of those tasks are one trace. The span is named by the
 * method until the route is known (`nameRequestSpan`); a 5xx marks it an error.
 */
export function traceRequest<R extends { statusCode: number }>(event: HttpEventLike | undefined, fn: () => Promise<R>): Promise<R> {
  const method = event?.requestContext?.http?.method?.toUpperCase() ?? 'GET';
  return withIncomingTrace(event?.headers, () =>
    tracer().startActiveSpan(method, { kind: SpanKind.SERVER, attributes: { [HTTP_METHOD]: method, [URL_PATH]: (event?.rawPath ?? '/').slice(0, 200) } }, async (span) => {
      try {
        const response = await fn();
        span.setAttribute(HTTP_STATUS, response.statusCode);
        if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } finally {
        span.end();
      }
    }),
  );
}

/** Names the active request span after the route that matched (`POST /tasks/{id}/retry`): few names, one per route. */
export function nameRequestSpan(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute(HTTP_ROUTE, route);
}
