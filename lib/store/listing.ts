import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor, TASK_SHARDS } from '../keys';
import type { TaskStatus, TaskSummary } from '../types';
import { callTable } from './dynamo';
import { ATTENTION_INDEX, ATTENTION_STATUSES, isStateSk, shardPks, taskIdOfSk, toSummary, type StateItem, type TaskItem } from './items';
import type { TaskStore } from './taskStore';

export interface ListQuery {
  status?: TaskStatus;
  name?: string;
  limit: number;
  cursor?: string;
}

export interface ListPage {
  items: TaskSummary[];
  /** Where the next page starts; absent at the end. A page may hold fewer than `limit` items and still have one. */
  nextCursor?: string;
}

/** Tasks a page looks at, at most, when a filter leaves few matches: the page then ends short, with a cursor. */
export const SCAN_BUDGET = 1_000;
/** Items per Query, at most. */
const MAX_PAGE_ITEMS = 250;

/**
 * Lists tasks newest first, `limit` per page, each exactly once across pages.
 *
 * FAILED and CANCELLED come from a sparse index that holds only them, so those
 * lists are exact and cheap whatever else the table holds. Everything else is
 * read from the task shards themselves (a task and its state side by side, so
 * one Query gives both), merged across shards, and filtered here: a filter
 * that few tasks match may look at up to SCAN_BUDGET tasks for one page and
 * stop with a cursor, so follow `nextCursor` until it is absent.
 */
export async function listTasks(store: TaskStore, query: ListQuery): Promise<ListPage> {
  const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const fromIndex = ATTENTION_STATUSES.some((s) => s === query.status);
  const streams = fromIndex
    ? Array.from({ length: TASK_SHARDS }, (_, i) => new Stream(store, { index: `${query.status}#${String(i).padStart(2, '0')}` }, before, query.limit))
    : shardPks().map((pk) => new Stream(store, { pk }, before, query.limit));
  const matches = (t: TaskSummary) => (query.status === undefined || t.status === query.status) && (query.name === undefined || t.name === query.name);

  const items: TaskSummary[] = [];
  let examined = 0;
  let last: string | undefined;
  while (items.length < query.limit && examined < SCAN_BUDGET) {
    await Promise.all(streams.filter((s) => s.needsFetch()).map((s) => s.fetch()));
    let best: Stream | undefined;
    for (const s of streams) {
      const head = s.head();
      if (head && (!best || head.taskId > best.head()!.taskId)) best = s;
    }
    if (!best) break;
    const task = best.take();
    examined++;
    last = task.taskId;
    if (matches(task)) items.push(task);
  }
  const more = streams.some((s) => s.hasMore());
  return { items, nextCursor: more && last ? encodeCursor(last) : undefined };
}

/**
 * One shard (or one index key), newest first, read a page at a time as the
 * merge needs it. A task's state sorts right after its definition, so a page
 * may end between the two: the state waits for its definition.
 */
class Stream {
  private ready: TaskSummary[] = [];
  private pendingState: StateItem | undefined;
  private lastKey: Record<string, unknown> | undefined;
  private exhausted = false;
  private pageItems: number;

  constructor(
    private readonly store: TaskStore,
    private readonly source: { pk: string } | { index: string },
    private readonly before: string | undefined,
    limit: number,
  ) {
    // Enough for this shard's share of a page, with room; doubled each time it runs dry.
    this.pageItems = Math.min(MAX_PAGE_ITEMS, 2 * Math.ceil((2 * limit) / TASK_SHARDS) + 2);
  }

  needsFetch(): boolean {
    return this.ready.length === 0 && !this.exhausted;
  }

  async fetch(): Promise<void> {
    const byIndex = 'index' in this.source;
    const key = byIndex ? (this.source as { index: string }).index : (this.source as { pk: string }).pk;
    const cursor = this.before ? { condition: ' AND sk < :before', values: { ':before': this.before } } : { condition: '', values: {} };
    const out = await callTable('Query', () =>
      this.store.client.send(
        new QueryCommand({
          TableName: this.store.tableName,
          ...(byIndex ? { IndexName: ATTENTION_INDEX } : {}),
          KeyConditionExpression: `${byIndex ? 'attention' : 'pk'} = :k${cursor.condition}`,
          ExpressionAttributeValues: { ':k': key, ...cursor.values },
          ScanIndexForward: false,
          Limit: this.pageItems,
          ExclusiveStartKey: this.lastKey,
        }),
      ),
    );
    this.pageItems = Math.min(MAX_PAGE_ITEMS, this.pageItems * 2);
    // Stryker disable next-line ArrayDeclaration: a Query's answer always holds Items (empty when nothing matched)
    for (const item of out.Items ?? []) this.add(item);
    this.lastKey = out.LastEvaluatedKey;
    this.exhausted = out.LastEvaluatedKey === undefined;
    if (this.exhausted && this.pendingState) this.flushState();
  }

  private add(item: Record<string, unknown>): void {
    const sk = String(item.sk);
    if (isStateSk(sk)) {
      // The index holds states alone; a shard gives each state just before its definition.
      if ('index' in this.source) {
        this.ready.push(toSummary(undefined, item as unknown as StateItem));
        return;
      }
      if (this.pendingState) this.flushState();
      this.pendingState = item as unknown as StateItem;
      return;
    }
    const task = item as unknown as TaskItem;
    const state = this.pendingState && taskIdOfSk(this.pendingState.sk) === task.taskId ? this.pendingState : undefined;
    if (this.pendingState && !state) this.flushState();
    this.pendingState = undefined;
    this.ready.push(toSummary(task, state));
  }

  /** A state whose definition is gone (expired first): listed from the state alone. */
  private flushState(): void {
    this.ready.push(toSummary(undefined, this.pendingState));
    this.pendingState = undefined;
  }

  head(): TaskSummary | undefined {
    return this.ready[0];
  }

  take(): TaskSummary {
    return this.ready.shift()!;
  }

  /** A state still waiting for its definition counts as not exhausted: fetch flushes it once the stream ends. */
  hasMore(): boolean {
    return this.ready.length > 0 || !this.exhausted;
  }
}
