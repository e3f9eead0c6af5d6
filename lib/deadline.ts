import { AsyncLocalStorage } from 'node:async_hooks';
import { DependencyUnavailableError } from './errors';

/**
 * How long one invocation may keep calling AWS. `work` bounds the request's
 * own calls; `end` is the invocation's last moment, kept for resolving what
 * the work left undecided (stopping an enqueue whose send failed, releasing a
 * hold) before the answer. Epoch ms.
 */
export interface Budget {
  work: number;
  end: number;
}

const scope = new AsyncLocalStorage<{ budget: Budget; resolving: boolean }>();

/** A call cut short by its invocation's deadline: it may still land, like a timeout. */
export class DeadlineExceededError extends Error {
  constructor() {
    super('The invocation’s deadline passed before AWS answered');
    this.name = 'DeadlineExceededError';
  }
}

/** Runs `fn` with every SDK call it makes (on a client bounded by `boundCalls`) held to `budget`. */
export function withBudget<T>(budget: Budget, fn: () => Promise<T>): Promise<T> {
  return scope.run({ budget, resolving: false }, fn);
}

/** Runs `fn` on the rest of the budget, up to its `end`: the time kept for resolving. */
export function resolving<T>(fn: () => Promise<T>): Promise<T> {
  const current = scope.getStore();
  return current ? scope.run({ budget: current.budget, resolving: true }, fn) : fn();
}

/** Milliseconds left for a call made now: Infinity outside any budget. */
export function timeLeft(now = Date.now()): number {
  const current = scope.getStore();
  if (!current) return Infinity;
  return (current.resolving ? current.budget.end : current.budget.work) - now;
}

/** The part of a Lambda context that tells the time left. */
export interface DeadlineSource {
  getRemainingTimeInMillis(): number;
}

/** A queue consumer's calls stop this long before its Lambda's deadline. */
const CONSUMER_END_MARGIN_MS = 300;

/** A queue consumer's budget: none of its calls outlives the invocation (one still unanswered then is given up, as a timeout). */
export function consumerBudget(context: DeadlineSource): Budget {
  const { end } = budgetOf(context.getRemainingTimeInMillis(), 0, CONSUMER_END_MARGIN_MS);
  return { work: end, end };
}

/**
 * The budget of an invocation with `remainingMs` left: its calls stop
 * `reserveMs` before the end, which stops `marginMs` before the Lambda's own
 * deadline (time to send the answer).
 */
export function budgetOf(remainingMs: number, reserveMs: number, marginMs: number, now = Date.now()): Budget {
  const end = now + remainingMs - marginMs;
  return { work: Math.max(now, end - reserveMs), end };
}

/** `promise`, or, if it has not settled by `at`, a rejection with `error()`. */
export async function settleBy<T>(promise: Promise<T>, at: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), Math.max(0, at - Date.now()));
  });
  // No unhandled rejection if `promise` fails after `late`: the race has subscribed to it.
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or less if the current budget ends sooner; false if it had no time left to wait at all. */
export async function pauseWithin(ms: number): Promise<boolean> {
  const left = timeLeft();
  if (left <= ms) return false;
  await new Promise((r) => setTimeout(r, ms));
  return true;
}

type Next = (args: unknown) => Promise<unknown>;
interface MiddlewareStackLike {
  add(middleware: (next: Next) => Next, options: { step: 'initialize'; name: string; priority: 'high' }): void;
}
const bounded = new WeakSet<object>();

/**
 * Holds every call of `client` to the budget of the invocation that makes it
 * (none outside one), whoever built the client: a call still unanswered at the
 * deadline is given up with DeadlineExceededError, which callers treat as an
 * unanswered call (it may land). The SDK's own connection and request
 * timeouts bound each try; this bounds the sum of tries and retries.
 */
export function boundCalls(client: { middlewareStack: unknown }): void {
  const stack = client.middlewareStack as MiddlewareStackLike & object;
  if (bounded.has(stack)) return;
  bounded.add(stack);
  stack.add(
    (next) => async (args) => {
      const left = timeLeft();
      if (left === Infinity) return next(args);
      if (left <= 0) throw new DeadlineExceededError();
      // A call given up on still settles later: its outcome is nobody's then.
      return settleBy(next(args), Date.now() + left, () => new DeadlineExceededError());
    },
    { step: 'initialize', name: 'invocationDeadline', priority: 'high' },
  );
}

/** Waits a little longer each round of a contended write, with jitter, up to a quarter second. */
export function pauseForRound(round: number): Promise<void> {
  const ms = Math.min(250, 20 * 1.5 ** round) * (0.5 + Math.random() / 2);
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Tries `write` up to `tries` times while AWS is unavailable to it
 * (DependencyUnavailableError), pausing 200, 400, 800 ms... between tries,
 * never past the current budget. Its value; or, when no try answered, the
 * last such error. Anything else `write` throws is thrown: a bug, not an outage.
 */
export async function whileUnavailable<T>(tries: number, write: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; last: unknown }> {
  let last: unknown;
  for (let attempt = 0; attempt < tries; attempt++) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a pause before the first try only delays the answer
    if (attempt > 0 && !(await pauseWithin(100 * 2 ** attempt))) break;
    try {
      return { ok: true, value: await write() };
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      last = error;
    }
  }
  return { ok: false, last };
}
