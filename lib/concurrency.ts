/**
 * Runs `fn` over `items` with at most `limit` at once. Each call settles on its
 * own: a rejection is not propagated, so one item can never stop the others.
 * Once `stopped()` is true, no further item is started.
 */
export async function runWithConcurrency<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, stopped: () => boolean = () => false): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stopped()) {
      const item = items[next++]!;
      await fn(item).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
