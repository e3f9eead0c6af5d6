/** The tail of each key's queue of calls, in this process. */
const tails = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` after every earlier call for `key` in this process has settled:
 * the tasks of one batch that share a limit take its slots and tokens one
 * after another, instead of refusing each other's conditional writes.
 * Other processes still race, and conditional writes settle that.
 */
export function inTurn<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = tails.get(key) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}
