/** `items` in order, in slices of at most `size`: the batches of a batch API (25 writes, 100 reads, 10 messages). */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
