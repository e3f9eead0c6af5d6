import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * What `npm start` changes in serverless-offline, in one place: how many
 * execution environments a function may have, and which of its lines a
 * developer sees by default. Both reach into offline's modules; each is
 * checked by test/e2e/local-stack.test.ts against the version installed.
 */
export async function adaptOffline(options: { environmentsPerFunction: number; uncapped: Iterable<string> }): Promise<void> {
  const { default: Lambda } = await import('serverless-offline/lambda');
  capEnvironments(Lambda, options.environmentsPerFunction, options.uncapped);
  // Not in offline's exports: its log module, by path (the same file, so the same module instance offline uses).
  const logModule = pathToFileURL(join(dirname(require.resolve('serverless-offline')), 'utils', 'log.js')).href;
  const { setLogUtils } = (await import(logModule)) as { setLogUtils(utils: { log: PluginLog; progress: unknown }): void };
  // The framework memoizes each plugin's writers by name: this is the pair offline was given
  // (required, not imported, to share the framework's own CommonJS instance).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getPluginWriters } = require('serverless/lib/utils/serverless-utils/log') as { getPluginWriters(name: string): { log: PluginLog; progress: unknown } };
  const writers = getPluginWriters('serverless-offline');
  setLogUtils({ log: quietRequestLines(writers.log), progress: writers.progress });
}

/** A Serverless Framework plugin's log: callable at notice level, with a method per level. */
export interface PluginLog {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  notice(...args: unknown[]): void;
  verbose(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Offline's lines for every request and invocation ("POST /x (λ: api)", "(λ: api) RequestId: … Duration: …") and the blank lines around them. */
const PER_REQUEST = [/^[A-Z]+ \S* \(λ: [^)]+\)$/, /^\(λ: [^)]+\) RequestId: /];

/**
 * Offline's log with its per-request lines moved from notice to verbose
 * (`npm start -- --verbose` shows them): at a few hundred tasks a second they
 * were most of the terminal's output and a tenth of the main thread's CPU.
 */
export function quietRequestLines(log: PluginLog): PluginLog {
  const perRequest = (args: unknown[]) => args.length === 0 || (typeof args[0] === 'string' && PER_REQUEST.some((re) => re.test(args[0] as string)));
  return {
    debug: (...args) => log.debug(...args),
    info: (...args) => log.info(...args),
    notice: (...args) => (perRequest(args) ? log.verbose(...args) : log.notice(...args)),
    verbose: (...args) => log.verbose(...args),
    warning: (...args) => log.warning(...args),
    error: (...args) => log.error(...args),
  };
}

/** What serverless-offline's Lambda pool hands out for one invocation. */
interface LambdaFunctionLike {
  setEvent(event: unknown): void;
  setClientContext(context: unknown): void;
  runHandler(): Promise<unknown>;
}

interface LambdaLike {
  get(functionKey: string): LambdaFunctionLike;
}

/**
 * Caps the execution environments (worker threads) serverless-offline keeps
 * per function. Offline, like Lambda, gives every concurrent invocation an
 * environment of its own and never retires a busy one: 20 requests in flight
 * make 20 api threads, each loading and JIT-compiling its own copy of the
 * bundle and the AWS SDK, on a machine with two cores. With a cap, an
 * invocation beyond it waits for an environment to be free, as it would
 * behind a function's reserved concurrency (where AWS refuses it instead),
 * and its timeout starts when it runs. Each invocation still runs alone in
 * its environment, under its function's timeout. Functions in `uncapped`
 * are left as offline runs them: those the event sources invoke, which
 * `maximumConcurrency` already bounds, and whose invocations must not wait
 * unseen (the event source would give up on one that waited past its timeout).
 *
 * Wraps the pool's `get` (the method every event of offline calls) on the
 * class serverless-offline exports as `serverless-offline/lambda`.
 */
export function capEnvironments(lambdaClass: { prototype: LambdaLike }, perFunction: number, uncapped: Iterable<string> = []): () => void {
  const original = lambdaClass.prototype.get;
  const slots = new Map<string, Slots>();
  const free = new Set(uncapped);
  lambdaClass.prototype.get = function (this: LambdaLike, functionKey: string): LambdaFunctionLike {
    if (free.has(functionKey)) return original.call(this, functionKey);
    let fnSlots = slots.get(functionKey);
    if (!fnSlots) slots.set(functionKey, (fnSlots = new Slots(perFunction)));
    return new QueuedInvocation(fnSlots, () => original.call(this, functionKey));
  };
  return () => {
    lambdaClass.prototype.get = original;
  };
}

/**
 * Stands in for an environment until one is free: records the event, then
 * takes an idle environment (or has offline make one, within the cap) and
 * runs it. Taking and running happen in one step, so no other invocation can
 * be handed the same idle environment in between.
 */
class QueuedInvocation implements LambdaFunctionLike {
  private event: unknown;
  private clientContext: unknown;
  private hasClientContext = false;

  constructor(
    private readonly slots: Slots,
    private readonly take: () => LambdaFunctionLike,
  ) {}

  setEvent(event: unknown): void {
    this.event = event;
  }

  setClientContext(context: unknown): void {
    this.clientContext = context;
    this.hasClientContext = true;
  }

  async runHandler(): Promise<unknown> {
    await this.slots.acquire();
    try {
      const environment = this.take();
      if (this.hasClientContext) environment.setClientContext(this.clientContext);
      environment.setEvent(this.event);
      return await environment.runHandler();
    } finally {
      this.slots.release();
    }
  }
}

/** A counting semaphore, first come first served. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot straight to the next waiter, if any, so a newcomer cannot overtake it. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
