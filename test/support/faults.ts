import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Fault injection on a real SDK client: SDK middleware that fails the commands
 * named in `failing` before they leave (or counts them), so the rest of the
 * client and the server stay real.
 */
export interface Faults {
  /** Commands to fail, e.g. 'SendMessage'; '*' fails all. */
  failing: Set<string>;
  /** The error to throw; defaults to a 503-like service error. */
  error: () => Error;
  /** Commands sent so far, by name (including failed ones). */
  counts: Map<string, number>;
}

export function injectFaults(client: SQSClient | DynamoDBClient): Faults {
  const faults: Faults = {
    failing: new Set(),
    error: () => Object.assign(new Error('Service unavailable (injected)'), { name: 'ServiceUnavailable', $fault: 'server' }),
    counts: new Map(),
  };
  (client.middlewareStack as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
      const name = context.commandName.replace(/Command$/, '');
      faults.counts.set(name, (faults.counts.get(name) ?? 0) + 1);
      if (faults.failing.has(name) || faults.failing.has('*')) throw faults.error();
      return next(args);
    },
    { step: 'initialize', name: 'testFaults' },
  );
  return faults;
}

/**
 * Makes the next `times` calls of `command` fail as AWS throttling does, below
 * the SDK's retry middleware, so the client's own retries are what is tested.
 */
export function throttle(client: SQSClient | DynamoDBClient, command: string, times: number, errorName = 'ThrottlingException'): { thrown: number } {
  const state = { thrown: 0 };
  (client.middlewareStack as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
      if (context.commandName === `${command}Command` && state.thrown < times) {
        state.thrown++;
        throw Object.assign(new Error('Rate exceeded (injected)'), { name: errorName, $fault: 'client', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'deserialize', name: `throttle${command}${Math.random()}` },
  );
  return state;
}
