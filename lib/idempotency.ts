import { randomUUID } from 'node:crypto';
import { stopUnstarted } from './compensation';
import { pauseForRound, pauseWithin, resolving, timeLeft } from './deadline';
import { recordOf, type EnqueuedTask, type PreparedTask } from './preparedTask';
import type { Engine } from './engine';
import { DependencyUnavailableError, IdempotencyConflictError } from './errors';
import { storePayload } from './payloads/storePayload';
import { sendRun } from './schedules/dispatch';
import { beginDispatch, endDispatch, putMarker, reviveStopped, takeOverDispatch } from './store/idempotency';
import { newTaskItems } from './store/items';
import type { TaskRecord } from './types';

/** How long a request waits for another to finish sending, all told, before it answers 503. */
const WAIT_LIMIT_MS = 20_000;
/** Tries at releasing the hold after a send: once a task is sent, the request must answer 202. */
const RELEASE_TRIES = 5;

/**
 * Enqueues with an Idempotency-Key: one key, one task, one message.
 *
 * The first request to write the key's marker fixes the task id; every
 * request with the key then meets on that task's state. One of them holds
 * the sending (`dispatch`): it writes the task and sends its message, then
 * releases the hold, and the others, which waited for that, answer 202 for
 * the same task without sending anything. If the holder cannot send, it stops
 * the task (answering 503), and the next waiting request starts a new run and
 * tries itself; if the holder vanishes, its hold runs out and another request
 * takes over. So concurrent requests send one message in the common case, and
 * no request answers 202 for a task that another then stops.
 */
export async function enqueueWithKey(engine: Engine, prepared: PreparedTask, key: string): Promise<EnqueuedTask> {
  const existing = await putMarker(engine.store, key, { taskId: prepared.task.taskId, requestHash: prepared.requestHash }, prepared.task.expiresAt);
  if (existing && existing.requestHash !== prepared.requestHash) throw new IdempotencyConflictError(key);
  const task = existing ? { ...prepared.task, taskId: existing.taskId } : prepared.task;
  // Built by the first round that holds the sending, after its payload (if kept in S3) is written.
  let items: ReturnType<typeof newTaskItems> | undefined;
  const owner = randomUUID();
  const hold = () => Date.now() + engine.config.dispatchHoldMs;
  // Waiting for another request ends with the request's own budget, if that comes first.
  const waitUntil = Date.now() + Math.min(WAIT_LIMIT_MS, timeLeft());
  let failure: unknown;

  for (let round = 0; ; round++) {
    const state = await engine.store.getState(task.taskId);
    let run: number | undefined;
    // Whether this request began the task's first run itself: then the task written is its own.
    let began = false;
    if (!state) {
      began = await beginDispatch(engine.store, task, owner, hold(), engine.now());
      if (began) run = 1;
    } else if (state.dispatch?.owner === owner) {
      run = state.run;
    } else if (state.dispatch) {
      if (state.dispatch.until > Date.now()) {
        if (Date.now() > waitUntil) throw new DependencyUnavailableError('sqs', 'SendMessage', 'another request is still sending this task');
        await pauseForRound(round);
      } else if (await takeOverDispatch(engine.store, state, state.dispatch, owner, hold())) {
        run = state.run;
      }
    } else if (state.stopped) {
      // Our own try failed (and stopped it): that answer stands. Otherwise it is ours to try again.
      if (failure !== undefined) throw failure;
      run = await reviveStopped(engine.store, state, owner, hold(), engine.now());
    } else {
      // Sent (by another request), claimed, finished or cancelled: the key's task, as it is.
      return { taskId: task.taskId, record: (await engine.store.get(task.taskId)) ?? recordOf(prepared, task.taskId, state), created: false };
    }
    if (run === undefined) continue;

    // This request holds the sending of run `run`.
    let released = false;
    try {
      // Under the hold: a failed upload is resolved like a failed send (stopped, 503; the next request tries again).
      items ??= newTaskItems(task, prepared.payloadJson, prepared.payloadBytes, await storePayload(engine, task.taskId, prepared));
      await Promise.all([engine.store.create(items), sendRun(engine, task, run)]);
      released = await resolving(() => release(engine, task.taskId, owner, run));
    } catch (error) {
      // A hold that cannot be released would run out, and whoever took it over could stop the task a 202
      // promised: so a refused release is resolved like a refused send (stopped → 503, claimed → 202).
      failure = error;
      const resolution = await resolving(() => stopUnstarted(engine, task, run, error, owner));
      if (resolution.outcome === 'stopped') throw error;
      if (resolution.outcome === 'started') return { taskId: task.taskId, record: recordOf(prepared, task.taskId, resolution.state), created: true };
      // taken over: wait for the new holder's outcome
    }
    // Sent and released: the task runs, so this answers 202 whatever comes next (the record's read included).
    if (released) return { taskId: task.taskId, record: await sentRecord(engine, prepared, task.taskId, run, began), created: true };
    // Taken over while we sent: our message is out, but the new holder decides; wait for it.
  }
}

/**
 * Releases the hold once run `run` is sent, so that the waiting requests
 * answer 202 too. It must land: a hold left in place runs out, and a request
 * that takes it over could stop the task this request answers 202 for. False
 * if another request took the hold over meanwhile and has not released the
 * run unstopped: this request may not answer 202 for it (yet).
 */
async function release(engine: Engine, taskId: string, owner: string, run: number): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await endDispatch(engine.store, taskId, owner, run);
    } catch (error) {
      if (attempt + 1 >= RELEASE_TRIES || !(await pauseWithin(100 * 2 ** attempt))) throw error;
    }
  }
}

/**
 * The record of the run this request sent. A first run it began is its own
 * task, known without a read; a run it took over or revived has the stored
 * record (written by the request that began it: its creation time, its run).
 */
async function sentRecord(engine: Engine, prepared: PreparedTask, taskId: string, run: number, began: boolean): Promise<TaskRecord> {
  if (began) return recordOf(prepared, taskId);
  // Best effort: the task is sent, and a failed read must not turn its 202 into a 503.
  const stored = await engine.store.get(taskId).catch(() => undefined);
  return stored ?? { ...recordOf(prepared, taskId), run };
}
