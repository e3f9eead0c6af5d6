import { pauseForRound, resolving, timeLeft, whileUnavailable } from '../deadline';
import type { Engine } from '../engine';
import { DependencyUnavailableError, IdempotencyConflictError } from '../errors';
import { newTaskId } from '../keys';
import { toMessage } from '../message';
import { newRecord, recordOf, type EnqueuedTask, type PreparedTask } from '../preparedTask';
import { newWriteToken } from '../store/dynamo';
import { getMarker, putMarker } from '../store/idempotency';
import { copiedFields, newTaskItems, type Copied, type NewTask, type StateItem } from '../store/items';
import { loggableError } from '../taskError';
import { clip } from '../text';
import { putDebouncedPayload } from './debouncedPayload';
import { createBurstState, fence, getBurst, isOpen, joinBurst, putBurst } from './debounceStore';
import type { DebounceOptions } from './debounceOptions';

/** How long a request waits for another to finish starting the key's burst, all told. */
const WAIT_LIMIT_MS = 20_000;
/** Rounds before giving up when the key's burst keeps changing under this request. */
const ROUNDS = 50;
/** Tries at a write whose answer was lost (it may have landed), before the request answers 503. */
const WRITE_TRIES = 4;

const ABANDONED = { type: 'EnqueueFailed', message: 'Not enqueued: the request that started this debounce burst vanished before its task was recorded' };

/**
 * Enqueues with a debounce: every enqueue with the same task and key while
 * the key's burst is open joins it (the same task id, its payload the one the
 * task will run with, its start moved to `seconds` from now); the first after
 * the burst closed (its task started, or `seconds` passed without an
 * enqueue) starts a new one. Joining is one conditional write on the task's
 * state, which its claim also needs, so an enqueue either joins before the
 * task starts or starts the next burst: never a payload that does not run.
 *
 * A 503 means this request changed nothing (its payload does not run; the
 * burst, answered 202 to others, runs as they left it); a burst is published
 * (its state written) only after its message went out, so no one can join a
 * task that will not run. With an Idempotency-Key, a request whose key was
 * used answers that task without joining again.
 */
export async function enqueueDebounced(engine: Engine, prepared: PreparedTask, debounce: DebounceOptions, idempotencyKey?: string): Promise<EnqueuedTask> {
  if (idempotencyKey !== undefined) {
    const marker = await getMarker(engine.store, idempotencyKey);
    if (marker && marker.requestHash !== prepared.requestHash) throw new IdempotencyConflictError(idempotencyKey);
    if (marker) return { taskId: marker.taskId, record: (await engine.store.get(marker.taskId)) ?? recordOf(prepared, marker.taskId), created: false };
  }
  const enqueued = await joinOrStart(engine, prepared, debounce);
  if (idempotencyKey !== undefined) {
    // Best effort: the task is enqueued whatever becomes of the key, and without it a retry joins again (same payload).
    await putMarker(engine.store, idempotencyKey, { taskId: enqueued.taskId, requestHash: prepared.requestHash }, prepared.task.expiresAt).catch((error: unknown) =>
      engine.logger.warn('Could not record the Idempotency-Key of a debounced enqueue', { taskId: enqueued.taskId, error: loggableError(error) }),
    );
  }
  return enqueued;
}

async function joinOrStart(engine: Engine, prepared: PreparedTask, debounce: DebounceOptions): Promise<EnqueuedTask> {
  const { store } = engine;
  const name = prepared.task.name;
  const waitUntil = Date.now() + Math.min(WAIT_LIMIT_MS, timeLeft());
  // The id a new burst takes: the prepared one first, a fresh one if that was spent on a burst another request beat.
  let nextId: string | undefined = prepared.task.taskId;
  const start = async (previous: string | undefined) => {
    const taskId = nextId ?? newTaskId();
    nextId = undefined;
    return startBurst(engine, prepared, debounce, taskId, previous);
  };

  for (let round = 0; round < ROUNDS; round++) {
    const burst = await getBurst(store, name, debounce.key);
    let outcome: EnqueuedTask | undefined;
    if (!burst) {
      outcome = await start(undefined);
    } else {
      const state = await store.getState(burst.taskId);
      if (!state) {
        // The request that started the burst is between its marker and its task's state, or gone.
        if (burst.at + engine.config.dispatchHoldMs > Date.now()) {
          if (Date.now() > waitUntil) throw new DependencyUnavailableError('dynamodb', 'PutItem', 'another request is still starting this debounce burst');
          await pauseForRound(round);
          continue;
        }
        // Gone: its task may never run (nobody was answered 202 for it), and a new burst takes the key.
        const fenced = await fence(store, copiedAs(prepared, burst.taskId), ABANDONED, engine.now());
        if (fenced.applied) outcome = await start(burst.taskId);
      } else if (isOpen(state, engine.now().getTime())) {
        outcome = await join(engine, prepared, debounce, state);
      } else {
        outcome = await start(burst.taskId);
      }
    }
    if (outcome) return outcome;
  }
  throw new DependencyUnavailableError('dynamodb', 'PutItem', 'the debounce burst kept changing under the request');
}

/**
 * Starts a burst as task `taskId`: the key's marker first (only if it is
 * still as read), then the task's definition and its message (delayed by the
 * window), then its state, which makes it joinable. Undefined when another
 * request moved the marker first, or took the burst over: look again.
 */
async function startBurst(engine: Engine, prepared: PreparedTask, debounce: DebounceOptions, taskId: string, previous: string | undefined): Promise<EnqueuedTask | undefined> {
  const now = engine.now();
  if (!(await putBurst(engine.store, prepared.task.name, debounce.key, { taskId, at: now.getTime() }, previous, now.getTime() + debounce.seconds * 1000))) return undefined;
  const task: NewTask = { ...prepared.task, taskId, createdAt: now.toISOString() };
  const [written, sent] = await Promise.allSettled([
    engine.store.create(newTaskItems(task, prepared.payloadJson, prepared.payloadBytes)),
    engine.queue.send(toMessage(task, 1, debounce.seconds)),
  ]);
  const failure = [written, sent].find((r) => r.status === 'rejected');
  if (failure) return resolving(() => abandon(engine, task, failure.reason));
  const token = newWriteToken();
  const tried = await whileUnavailable(WRITE_TRIES, async (): Promise<EnqueuedTask | undefined> => {
    // The window opens when the task becomes joinable, however long its definition and message took.
    const publishedAt = engine.now();
    const dueAt = publishedAt.getTime() + debounce.seconds * 1000;
    const state = await createBurstState(engine.store, task, dueAt, publishedAt, token);
    // Written; or claimed already (its message came first): either way it runs. Fenced by a later request: that one took the key.
    if (state.applied || !state.state?.stopped) return { taskId, record: { ...newRecord({ ...prepared, task }), nextAttemptAt: dueAt }, created: true };
    return undefined;
  });
  return tried.ok ? tried.value : resolving(() => abandon(engine, task, tried.last));
}

/**
 * A burst whose definition or message could not be written, or whose state
 * could not be published: its task is fenced so that it never runs (503). If
 * it has a state already, the state landed after all (or a worker claimed
 * the task): it runs, and the answer is 202.
 */
async function abandon(engine: Engine, task: NewTask, cause: unknown): Promise<EnqueuedTask> {
  const error = { type: 'EnqueueFailed', message: clip(`Not enqueued: ${(cause as Error)?.message ?? String(cause)}`, 200) };
  const tried = await whileUnavailable(WRITE_TRIES, async () => {
    const fenced = await fence(engine.store, task, error, engine.now());
    return fenced.applied || fenced.state?.stopped !== undefined;
  });
  if (tried.ok && !tried.value) return { taskId: task.taskId, record: newRecord({ task, payloadJson: '' }), created: true };
  if (!tried.ok) engine.logger.error('Debounced enqueue failed and could not be stopped: the task may still run', { taskId: task.taskId, error: loggableError(tried.last), cause: loggableError(cause) });
  throw cause;
}

/**
 * Joins the open burst of `state`: this enqueue's payload in an item of its
 * own, then the state pointed at it. Undefined when the burst closed
 * meanwhile (look again: this payload starts the next). A join whose answer
 * was lost is tried again; one that landed is recognised by its payload.
 */
async function join(engine: Engine, prepared: PreparedTask, debounce: DebounceOptions, state: StateItem): Promise<EnqueuedTask | undefined> {
  const ref = newWriteToken();
  await putDebouncedPayload(engine.store, state, ref, prepared.payloadJson);
  const token = newWriteToken();
  const tried = await whileUnavailable(WRITE_TRIES, async (): Promise<EnqueuedTask | undefined> => {
    const now = engine.now();
    const dueAt = now.getTime() + debounce.seconds * 1000;
    const joined = await joinBurst(engine.store, state.taskId, ref, dueAt, now, token);
    if (!joined.applied && joined.state?.payloadRef !== ref) return undefined;
    const task = { ...prepared.task, taskId: state.taskId, createdAt: state.createdAt };
    return { taskId: state.taskId, record: { ...newRecord({ ...prepared, task }), nextAttemptAt: dueAt }, created: false };
  });
  if (tried.ok) return tried.value;
  engine.logger.error('Debounced enqueue could not join its burst: its payload may be the one that runs', { taskId: state.taskId, error: loggableError(tried.last) });
  throw tried.last;
}

function copiedAs(prepared: PreparedTask, taskId: string): Copied {
  return { ...copiedFields(prepared.task), taskId };
}
