import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DependencyUnavailableError } from '../../lib/errors';
import { blackHole, FORWARD_HEADER } from './blackHole';

/**
 * Fault injection on a real SDK client, as SDK middleware: the rest of the
 * client (serialisation, signing, retries) and the server stay real.
 *
 * - `initialize` step (the default): above the SDK's retries. A fault there is
 *   what the caller sees, once.
 * - `deserialize` step: below the retries, around each HTTP attempt. A lost
 *   answer there is retried by the SDK as a real timeout or 500 would be, so a
 *   write can land twice (and a conditional one then fails its condition).
 */
export type FaultStep = 'initialize' | 'deserialize';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- command inputs and outputs of any service
type Io = any;

export interface FaultRule {
  /** The command's name without "Command": 'PutItem', 'SendMessageBatch'... ('*': every command of the client). */
  command: string;
  /** Only calls whose input matches this. */
  when?: (input: Io) => boolean;
  /** How many matching calls to affect; all of them by default. */
  times?: number;
  /**
   * - `fail`: the call never leaves; the caller gets `error`.
   * - `lose-answer`: the call reaches the server and lands; then the caller gets `error` instead of the answer.
   * - `delay`: the call waits `delayMs` (and `before`) and then goes out normally.
   * - `refuse-entries`: a batch call goes out without the entries `refuse` picks, which come back in `Failed`
   *   as SQS reports entries it did not take.
   * - `shape`: the caller gets what `shape` answers, made from the real answer (`send`) or in its place:
   *   answers that leave out what the API marks optional, or that a server under load gives.
   * - `hang`: no answer ever comes. At the `deserialize` step (each HTTP try) the request goes to a server
   *   that never answers, so the client's own connection and request timeouts must end it (and the SDK
   *   retries it); with `lands`, that server first passes it on, so the write lands. At the `initialize`
   *   step the call never settles: only the invocation's budget can end it.
   */
  effect: 'fail' | 'lose-answer' | 'delay' | 'refuse-entries' | 'shape' | 'hang';
  /** For `hang` at the deserialize step: the request reaches its server before its answer is swallowed. */
  lands?: boolean;
  step?: FaultStep;
  delayMs?: number;
  /** Awaited before the call goes out (`delay`) or is refused (`fail`): lets a test put another actor in between. */
  before?: (input: Io) => Promise<void>;
  /** Awaited after the call landed and before its answer is lost (`lose-answer`). */
  after?: (input: Io, output: Io) => Promise<void>;
  error?: () => Error;
  /** For `refuse-entries`: which entries SQS refuses. */
  refuse?: (entry: Io, index: number) => boolean;
  /** For `refuse-entries`: SQS blames the request (SenderFault), so a retry cannot help. */
  senderFault?: boolean;
  /** For `shape`: the answer, from the call's input and `send`, which makes the real call (with any input). */
  shape?: (input: Io, send: (input: Io) => Promise<Io>) => Promise<Io>;
}

export interface FaultHandle {
  /** Calls this rule affected so far. */
  readonly hits: number;
  remove(): void;
}

export interface FaultKit {
  add(rule: FaultRule): FaultHandle;
  /** Removes every rule and forgets the calls seen. */
  clear(): void;
  /** Every call that went through the client (initialize step), with its input, in order. */
  readonly calls: ReadonlyArray<{ command: string; input: Io }>;
  count(command: string): number;
}

/** A 5xx that the SDK retries, as DynamoDB or SQS answer under trouble. */
export function serviceUnavailable(): Error {
  return Object.assign(new Error('Service unavailable (injected)'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
}

/** DynamoDB's 500: the request may or may not have been applied. */
export function internalServerError(): Error {
  return Object.assign(new Error('Internal server error (injected)'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
}

/** A socket timeout after the request was sent: the client cannot know whether it landed. */
export function timeoutError(): Error {
  return Object.assign(new Error('socket hang up (injected timeout)'), { name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: {} });
}

/** Throttling, which the SDK retries with backoff. */
export function throttlingError(name = 'ThrottlingException'): Error {
  return Object.assign(new Error('Rate exceeded (injected)'), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

interface ActiveRule extends FaultRule {
  hits: number;
  removed: boolean;
}

type Middleware = (next: (args: { input: Io }) => Promise<{ output: Io }>, context: { commandName: string }) => (args: { input: Io }) => Promise<{ output: Io }>;

/** Installs the kit on a client. Use a client of its own (dedicatedClients), so that other tests' calls are not affected. */
export function installFaults(client: SQSClient | DynamoDBClient | S3Client): FaultKit {
  const rules: ActiveRule[] = [];
  const calls: Array<{ command: string; input: Io }> = [];
  const nameOf = (context: { commandName: string }) => context.commandName.replace(/Command$/, '');

  const take = (step: FaultStep, command: string, input: Io): ActiveRule | undefined => {
    const rule = rules.find(
      (r) => !r.removed && (r.command === command || r.command === '*') && (r.step ?? 'initialize') === step && (r.times === undefined || r.hits < r.times) && (!r.when || r.when(input)),
    );
    if (rule) rule.hits++;
    return rule;
  };

  const apply = async (rule: ActiveRule | undefined, args: { input: Io; request?: Io }, next: (args: { input: Io; request?: Io }) => Promise<{ output: Io }>) => {
    if (!rule) return next(args);
    const error = rule.error ?? serviceUnavailable;
    switch (rule.effect) {
      case 'fail':
        await rule.before?.(args.input);
        throw error();
      case 'delay':
        if (rule.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
        await rule.before?.(args.input);
        return next(args);
      case 'lose-answer': {
        const result = await next(args);
        await rule.after?.(args.input, result.output);
        throw error();
      }
      case 'refuse-entries': {
        const entries = (args.input.Entries ?? []) as Io[];
        const refused = entries.filter((e, i) => rule.refuse?.(e, i) ?? true);
        const kept = entries.filter((e) => !refused.includes(e));
        const result = kept.length > 0 ? await next({ ...args, input: { ...args.input, Entries: kept } }) : { output: { Successful: [], Failed: [], $metadata: {} } };
        const failed = refused.map((e) => ({ Id: e.Id, SenderFault: rule.senderFault ?? false, Code: rule.senderFault ? 'InvalidParameterValue' : 'InternalError', Message: 'refused (injected)' }));
        return { ...result, output: { ...result.output, Failed: [...(result.output.Failed ?? []), ...failed] } };
      }
      case 'shape':
        return { output: await rule.shape!(args.input, async (input) => (await next({ ...args, input })).output) };
      case 'hang': {
        if (!args.request) return new Promise<never>(() => undefined);
        const hole = await blackHole();
        const request = args.request as { hostname: string; port?: number; headers: Record<string, string> };
        // A copy: the SDK sends the same request object again on its next try, which must reach the real server.
        const redirected = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as object, request, {
          hostname: '127.0.0.1',
          port: hole.port,
          headers: { ...request.headers, ...(rule.lands ? { [FORWARD_HEADER]: `${request.hostname}:${request.port}` } : {}) },
        });
        return next({ ...args, request: redirected });
      }
    }
  };

  const stack = client.middlewareStack as unknown as { add: (mw: Middleware, options: { step: string; name: string; priority?: string }) => void };
  const id = Math.random().toString(36).slice(2);
  stack.add(
    (next, context) => async (args) => {
      const command = nameOf(context);
      calls.push({ command, input: args.input });
      return apply(take('initialize', command, args.input), args, next);
    },
    { step: 'initialize', name: `faultKitInitialize-${id}`, priority: 'high' },
  );
  stack.add((next, context) => async (args) => apply(take('deserialize', nameOf(context), args.input), args, next), {
    step: 'deserialize',
    name: `faultKitDeserialize-${id}`,
  });

  return {
    add(rule) {
      const active: ActiveRule = { ...rule, hits: 0, removed: false };
      rules.push(active);
      return {
        get hits() {
          return active.hits;
        },
        remove() {
          active.removed = true;
        },
      };
    },
    clear() {
      for (const r of rules) r.removed = true;
      rules.length = 0;
      calls.length = 0;
    },
    calls,
    count: (command) => calls.filter((c) => c.command === command).length,
  };
}

/**
 * DynamoDB under load, on `kit`'s client: the `call`-th BatchWriteItem (from 1)
 * writes only the requests `keep` picks (by the request, its index and the
 * call's count) and returns the others as UnprocessedItems. Records when each
 * call came and how many requests it carried.
 */
export function leaveUnprocessed(kit: FaultKit, keep: (call: number, request: Io, index: number, n: number) => boolean): { calls: Array<{ at: number; n: number }> } {
  const seen = { calls: [] as Array<{ at: number; n: number }> };
  kit.add({
    command: 'BatchWriteItem',
    effect: 'shape',
    shape: async (input: { RequestItems: Record<string, Io[]> }, send) => {
      const [table, requests] = Object.entries(input.RequestItems)[0]!;
      seen.calls.push({ at: Date.now(), n: requests.length });
      const kept = requests.filter((r, i) => keep(seen.calls.length, r, i, requests.length));
      const left = requests.filter((r) => !kept.includes(r));
      const unprocessed = { UnprocessedItems: left.length > 0 ? { [table]: left } : {} };
      if (kept.length === 0) return { ...unprocessed, $metadata: {} };
      return { ...(await send({ ...input, RequestItems: { [table]: kept } })), ...unprocessed };
    },
  });
  return seen;
}

/** The error `promise` rejects with; fails if it resolves. */
export const rejection = (promise: Promise<unknown>) => promise.then(
  () => {
    throw new Error('expected a rejection');
  },
  (e: unknown) => e as Error,
);

/** `promise` rejects as the api's 503 does, naming the DynamoDB `action` that failed. */
export async function expectUnavailable(promise: Promise<unknown>, action: string): Promise<void> {
  // Imported here, not at the top: `npm run bench` loads this file (through aws.ts) outside vitest, where vitest cannot load.
  const { expect } = await import('vitest');
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  expect(error).toMatchObject({ dependency: 'dynamodb', message: `DynamoDB ${action} failed` });
}

/**
 * An outage of the client's service from `from` to `to` on a clock the test
 * moves (epoch ms): every call made while `clock()` is inside it is refused
 * with a 503, as by a service that is down.
 */
export function outage(kit: FaultKit, clock: () => number, from: number, to: number): FaultHandle {
  return kit.add({ command: '*', effect: 'fail', error: serviceUnavailable, when: () => clock() >= from && clock() < to });
}
