/** UTF-8 size of a string, as DynamoDB and SQS count it. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * At most `limit` UTF-16 units of `text`, cut between code points (never
 * inside a surrogate pair) and marked with "…" when cut; lone surrogates
 * become U+FFFD, since DynamoDB and JSON consumers want well-formed text.
 */
export function clip(text: string, limit: number): string {
  if (text.length <= limit) return wellFormed(text);
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return `${wellFormed(text.slice(0, end))}…`;
}

/** `text` with every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed, Node 20). */
export function wellFormed(text: string): string {
  return (text as unknown as { toWellFormed(): string }).toWellFormed();
}
