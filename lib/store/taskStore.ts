import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chunksOf } from '../chunks';
import { boundCalls } from '../deadline';
import { DependencyUnavailableError, TaskNotFoundError, TaskStateConflictError } from '../errors';
import type { TaskError, TaskRecord, TaskStatus } from '../types';
import { batchGet, callTable, conditionalWrite, guardedWrite, keyString, newWriteToken, onFailureReturnItem } from './dynamo';
import {
  attentionKey,
  copiedFields,
  type Copied,
  debouncedPayloadKey,
  payloadKey,
  stateKey,
  taskKey,
  toRecord,
  type PayloadItem,
  type StateItem,
  type TaskItem,
} from './items';

/** A task's definition and payload, as the worker needs them to run it (a payload kept in S3: none yet, lib/payloads reads it). */
export interface LoadedTask {
  task: TaskItem;
  payloadJson?: string;
}

/**
 * The task table, and what the api does with tasks by id: write new ones,
 * read them, stop, cancel and reset them. The worker's claims and outcomes
 * (claims.ts), listing (listing.ts), idempotency (idempotency.ts) and the
 * counters (counters.ts) make their own calls through `client`.
 */
/** What undoRetry puts back: everything resetForRetry cleared that a client reads, but the run number. */
const RESTORED_BY_UNDO = ['error', 'finishedAt', 'attention', 'stopped', 'attempts', 'durationMs', 'startedAt'] as const;

/** A run with a state but no claim on it: PENDING, no attempt, no request holding its sending, not stopped. */
function isUnclaimed(state: StateItem, run: number): boolean {
  return state.run === run && state.status === 'PENDING' && state.attempts === 0 && state.dispatch === undefined && state.stopped === undefined;
}

export class TaskStore {
  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {
    boundCalls(client);
  }

  /**
   * Writes a new task's items (its definition, and its payload's item if
   * large). An item that is already there is left as it is: a definition is
   * never rewritten, and a second write of the same id (an SDK retry of a
   * write that landed, or another request with the same idempotency key)
   * carries the same task.
   */
  async create(items: { task: TaskItem; payload?: PayloadItem }): Promise<void> {
    await Promise.all([
      conditionalWrite('PutItem', () =>
        this.client.send(new PutCommand({ TableName: this.tableName, Item: items.task, ConditionExpression: 'attribute_not_exists(sk)' })),
      ),
      items.payload && callTable('PutItem', () => this.client.send(new PutCommand({ TableName: this.tableName, Item: items.payload }))),
    ]);
  }

  /**
   * Writes many new tasks' items, 25 per BatchWriteItem, in parallel,
   * retrying what DynamoDB leaves unprocessed. Returns the ids that could not
   * be written, with why. (Ids are fresh, so the unconditional puts cannot
   * overwrite a task.)
   */
  async createMany(items: Array<{ task: TaskItem; payload?: PayloadItem }>): Promise<Map<string, DependencyUnavailableError>> {
    const failed = new Map<string, DependencyUnavailableError>();
    const puts = items
      .flatMap(({ task, payload }) => [task, ...(payload ? [payload] : [])])
      .map((Item) => ({ PutRequest: { Item: Item as unknown as Record<string, unknown> } }));
    const taskIdOf = new Map(items.flatMap(({ task, payload }) => [[keyString(task), task.taskId], ...(payload ? [[keyString(payload), task.taskId] as const] : [])]));
    await Promise.all(
      chunksOf(puts, 25).map(async (chunk) => {
        let pending: Array<{ PutRequest: { Item: Record<string, unknown> } }> = chunk;
        try {
          for (let round = 0; pending.length > 0 && round < 4; round++) {
            if (round > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
            const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
            pending = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
          }
          for (const p of pending) failed.set(taskIdOf.get(keyString(p.PutRequest.Item as { pk: string; sk: string }))!, new DependencyUnavailableError('dynamodb', 'BatchWriteItem', 'left unprocessed'));
        } catch (cause) {
          const error = new DependencyUnavailableError('dynamodb', 'BatchWriteItem', cause);
          for (const p of pending) failed.set(taskIdOf.get(keyString(p.PutRequest.Item as { pk: string; sk: string }))!, error);
        }
      }),
    );
    return failed;
  }

  /** The task, read consistently, or undefined. */
  async get(taskId: string): Promise<TaskRecord | undefined> {
    const { task, state } = await this.getItems(taskId);
    if (!task) return undefined;
    return toRecord(task, state, await this.payloadOf(task, state));
  }

  /** A task's definition and state items, read consistently in one request. */
  async getItems(taskId: string): Promise<{ task?: TaskItem; state?: StateItem }> {
    const found = await batchGet(this.client, this.tableName, [taskKey(taskId), stateKey(taskId)]);
    return { task: found.get(keyString(taskKey(taskId))) as TaskItem | undefined, state: found.get(keyString(stateKey(taskId))) as StateItem | undefined };
  }

  /** A task's state item, read consistently, or undefined (never touched: PENDING, run 1). */
  async getState(taskId: string): Promise<StateItem | undefined> {
    const out = await callTable('GetItem', () => this.client.send(new GetCommand({ TableName: this.tableName, Key: stateKey(taskId), ConsistentRead: true })));
    return out.Item as StateItem | undefined;
  }

  /**
   * The definitions and payloads of many tasks (the worker's batch). Read
   * eventually consistent, at half the price: a definition never changes
   * once written. Only what that read misses (written a moment ago) is read
   * again, strongly consistent, before it counts as missing.
   */
  async load(taskIds: string[]): Promise<Map<string, LoadedTask>> {
    const keys = taskIds.map(taskKey);
    const tasks = await batchGet(this.client, this.tableName, keys, false);
    const missed = keys.filter((k) => !tasks.has(keyString(k)));
    // batchGet of no keys sends no request: nothing missed, or no payload stored apart, costs nothing.
    for (const [k, item] of await batchGet(this.client, this.tableName, missed)) tasks.set(k, item);
    const external = [...tasks.values()].filter((t) => t.payloadJson === undefined && t.payloadObject === undefined).map((t) => payloadKey(String(t.taskId)));
    const payloads = await batchGet(this.client, this.tableName, external);
    const loaded = new Map<string, LoadedTask>();
    for (const item of tasks.values()) {
      const task = item as unknown as TaskItem;
      const payloadJson = task.payloadJson ?? (payloads.get(keyString(payloadKey(task.taskId)))?.payloadJson as string | undefined);
      // A payload item not written (yet): the task cannot run now; its message comes back.
      if (payloadJson !== undefined) loaded.set(task.taskId, { task, payloadJson });
      else if (task.payloadObject !== undefined) loaded.set(task.taskId, { task });
    }
    return loaded;
  }

  /** The payload a task runs with: a debounced task's latest (`payloadRef`), or its definition's; undefined when kept in S3. */
  private async payloadOf(task: TaskItem, state: StateItem | undefined): Promise<string | undefined> {
    if (state?.payloadRef === undefined) {
      if (task.payloadJson !== undefined) return task.payloadJson;
      // In S3 (lib/payloads): the record names it, and whoever shows it reads it.
      if (task.payloadObject !== undefined) return undefined;
    }
    const key = state?.payloadRef === undefined ? payloadKey(task.taskId) : debouncedPayloadKey(task.taskId, state.payloadRef);
    const out = await callTable('GetItem', () => this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
    return (out.Item?.payloadJson as string | undefined) ?? task.payloadJson ?? 'null';
  }

  /**
   * Stops a task that enqueue could not finish sending, if no worker has
   * claimed it: its state becomes CANCELLED with `stopped`, which no claim
   * accepts. Where the task has no state yet, the state is created; where an
   * idempotent enqueue holds it (`owner`), only that owner may stop it, and
   * only while it is the PENDING run `run` with no attempt. Returns the state
   * that made the stop impossible (a worker claimed the task, or another
   * request took the enqueue over), or undefined once stopped.
   */
  async stop(task: Copied, run: number, error: TaskError, now: Date, owner?: string, tries = 0): Promise<StateItem | undefined> {
    const token = newWriteToken();
    const stopped = { status: 'CANCELLED' as TaskStatus, stopped: 'enqueue_failed' as const, error, finishedAt: now.toISOString(), updatedAt: now.toISOString(), attention: attentionKey('CANCELLED', task.taskId), wt: token };
    const out =
      owner === undefined
        ? await guardedWrite('PutItem', token, () =>
            this.client.send(
              new PutCommand({
                TableName: this.tableName,
                Item: { ...stateKey(task.taskId), ...copiedFields(task), run, attempts: 0, attemptLog: [], ...stopped } satisfies StateItem,
                ConditionExpression: 'attribute_not_exists(sk)',
                ...onFailureReturnItem,
              }),
            ),
          )
        : await guardedWrite('UpdateItem', token, () =>
            this.client.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: stateKey(task.taskId),
                UpdateExpression: 'SET #s = :s, stopped = :stopped, #e = :error, finishedAt = :now, updatedAt = :now, attention = :attention, wt = :wt REMOVE dispatch, claimableAt',
                ConditionExpression: 'dispatch.#owner = :owner AND #s = :pending AND attempts = :zero AND run = :run',
                ExpressionAttributeNames: { '#s': 'status', '#e': 'error', '#owner': 'owner' },
                ExpressionAttributeValues: {
                  ':s': stopped.status,
                  ':stopped': stopped.stopped,
                  ':error': error,
                  ':now': stopped.finishedAt,
                  ':attention': stopped.attention,
                  ':owner': owner,
                  ':pending': 'PENDING',
                  ':zero': 0,
                  ':run': run,
                  ':wt': token,
                },
                ...onFailureReturnItem,
              }),
            ),
          );
    if (out.applied) return undefined;
    // The state that refused the stop, as its condition found it.
    const state = out.item as StateItem | undefined;
    // A run whose claim was given back (releaseClaim) is PENDING again with no attempt and no hold: unclaimed, still to stop.
    if (owner === undefined && state && tries < 3 && isUnclaimed(state, run)) return (await this.stopUnclaimed(task, run, stopped)) ? undefined : this.stop(task, run, error, now, owner, tries + 1);
    if (state) return state;
    // Neither written nor there to yield to: whether the stop holds cannot be known (compensation says so).
    if (tries >= 3) throw new DependencyUnavailableError('dynamodb', 'PutItem', 'the state kept changing under the stop');
    // Gone (expired) since: write the stopped state afresh, so that the message, if it went out, runs nothing.
    return this.stop(task, run, error, now, undefined, tries + 1);
  }

  /** Stops run `run` of a task that has a state but no claim (PENDING, no attempt, no hold); false if it is no longer so. */
  private async stopUnclaimed(task: Copied, run: number, stopped: Pick<StateItem, 'status' | 'stopped' | 'error' | 'finishedAt' | 'attention' | 'wt'>): Promise<boolean> {
    const token = newWriteToken();
    const out = await guardedWrite('UpdateItem', token, () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: stateKey(task.taskId),
          UpdateExpression: 'SET #s = :s, stopped = :stopped, #e = :error, finishedAt = :now, updatedAt = :now, attention = :attention, wt = :wt REMOVE claimableAt',
          ConditionExpression: '#s = :pending AND attempts = :zero AND run = :run AND attribute_not_exists(dispatch) AND attribute_not_exists(stopped)',
          ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
          ExpressionAttributeValues: {
            ':s': stopped.status,
            ':stopped': stopped.stopped,
            ':error': stopped.error,
            ':now': stopped.finishedAt,
            ':attention': stopped.attention,
            ':pending': 'PENDING',
            ':zero': 0,
            ':run': run,
            ':wt': token,
          },
          ...onFailureReturnItem,
        }),
      ),
    );
    return out.applied;
  }

  /** PENDING or RETRYING → CANCELLED; the queued message is skipped when it arrives. */
  async cancel(taskId: string, now: Date): Promise<TaskRecord> {
    for (let tries = 0; ; tries++) {
      const { task, state } = await this.getItems(taskId);
      if (!task) throw new TaskNotFoundError(taskId);
      const status = state?.status ?? 'PENDING';
      if (status !== 'PENDING' && status !== 'RETRYING') throw new TaskStateConflictError(taskId, status, 'cancel');
      const token = newWriteToken();
      const cancelled = { status: 'CANCELLED' as const, finishedAt: now.toISOString(), updatedAt: now.toISOString(), attention: attentionKey('CANCELLED', taskId), wt: token };
      const done = state
        ? await guardedWrite('UpdateItem', token, () =>
            this.client.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: stateKey(taskId),
                UpdateExpression: 'SET #s = :s, finishedAt = :now, updatedAt = :now, attention = :attention, wt = :wt REMOVE claimableAt, dispatch',
                ConditionExpression: '#s = :read AND run = :run',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':s': cancelled.status, ':now': cancelled.finishedAt, ':attention': cancelled.attention, ':read': status, ':run': state.run, ':wt': token },
                ...onFailureReturnItem,
              }),
            ),
          )
        : await guardedWrite('PutItem', token, () =>
            this.client.send(
              new PutCommand({
                TableName: this.tableName,
                Item: { ...stateKey(taskId), ...copiedFields(task), run: 1, attempts: 0, attemptLog: [], ...cancelled } satisfies StateItem,
                ConditionExpression: 'attribute_not_exists(sk)',
                ...onFailureReturnItem,
              }),
            ),
          );
      // A worker or another request moved it between the read and the write: look again.
      if (done.applied) return (await this.get(taskId))!;
      if (tries >= 3) throw new DependencyUnavailableError('dynamodb', 'UpdateItem', 'the task kept changing');
    }
  }

  /**
   * FAILED or CANCELLED → PENDING, as a new run with a fresh budget of
   * attempts (the attempt log is kept). Returns the state before, for undoRetry.
   */
  async resetForRetry(taskId: string, now: Date, expiresAt: number): Promise<{ before: StateItem; record: TaskRecord }> {
    const { task, state } = await this.getItems(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (!state || (state.status !== 'FAILED' && state.status !== 'CANCELLED')) throw new TaskStateConflictError(taskId, state?.status ?? 'PENDING', 'retry');
    // The new run gets the whole retention, definition and payload included: none of them may expire under it.
    await this.extendExpiry(task, expiresAt, state.payloadRef);
    const token = newWriteToken();
    const out = await guardedWrite('UpdateItem', token, () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: stateKey(taskId),
          UpdateExpression:
            'SET #s = :pending, run = :next, attempts = :zero, claimableAt = :zero, updatedAt = :now, expiresAt = :expiresAt, wt = :wt ' +
            'REMOVE #e, resultJson, finishedAt, durationMs, startedAt, attemptStartedAt, attention, stopped, dispatch, progressJson, progressAt, cancelRequestedAt',
          ConditionExpression: '#s = :read AND run = :run',
          ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
          ExpressionAttributeValues: {
            ':pending': 'PENDING',
            ':next': state.run + 1,
            ':zero': 0,
            ':now': now.toISOString(),
            ':expiresAt': expiresAt,
            ':read': state.status,
            ':run': state.run,
            ':wt': token,
          },
          ...onFailureReturnItem,
        }),
      ),
    );
    if (!out.applied) throw new TaskStateConflictError(taskId, (out.item as StateItem | undefined)?.status ?? 'PENDING', 'retry');
    return { before: state, record: (await this.get(taskId))! };
  }

  /** Moves a task's definition (and its payload's item, or a debounced task's latest) to expire no sooner than `expiresAt`. */
  async extendExpiry(task: TaskItem, expiresAt: number, payloadRef?: string): Promise<void> {
    if (task.expiresAt >= expiresAt) return;
    const keys = [
      taskKey(task.taskId),
      ...(task.payloadJson === undefined && task.payloadObject === undefined ? [payloadKey(task.taskId)] : []),
      ...(payloadRef === undefined ? [] : [debouncedPayloadKey(task.taskId, payloadRef)]),
    ];
    await Promise.all(
      keys.map((Key) =>
        conditionalWrite('UpdateItem', () =>
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key,
              UpdateExpression: 'SET expiresAt = :e',
              // Never creates an item that is not there (a payload item gone with its task).
              ConditionExpression: 'attribute_exists(sk) AND expiresAt < :e',
              ExpressionAttributeValues: { ':e': expiresAt },
            }),
          ),
        ),
      ),
    );
  }

  /**
   * Puts a retried task back as `before` was (its outcome, attempts and timings) (keeping the new run number, so
   * a message of it that did go out finds nothing to run), unless the new run
   * has already been claimed. Returns whether it was put back.
   */
  async undoRetry(before: StateItem, now: Date): Promise<boolean> {
    const token = newWriteToken();
    const values: Record<string, unknown> = { ':s': before.status, ':now': now.toISOString(), ':pending': 'PENDING', ':zero': 0, ':run': before.run + 1, ':wt': token };
    let update = 'SET #s = :s, updatedAt = :now, wt = :wt';
    for (const field of RESTORED_BY_UNDO) {
      if (before[field] === undefined) continue;
      update += `, #${field} = :${field}`;
      values[`:${field}`] = before[field];
    }
    update += ' REMOVE claimableAt';
    const out = await guardedWrite('UpdateItem', token, () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: stateKey(before.taskId),
          UpdateExpression: update,
          ConditionExpression: '#s = :pending AND attempts = :zero AND run = :run',
          ExpressionAttributeNames: { '#s': 'status', ...Object.fromEntries(RESTORED_BY_UNDO.filter((f) => update.includes(`#${f}`)).map((f) => [`#${f}`, f])) },
          ExpressionAttributeValues: values,
          ...onFailureReturnItem,
        }),
      ),
    );
    return out.applied;
  }
}
