import { randomBytes } from 'node:crypto';
import type { Engine } from '../engine';
import type { TaskMessage } from '../message';
import type { TaskItem } from '../store/items';
import type { TaskDefinition } from '../task';
import { TERMINAL_STATUSES } from '../types';
import { loggableError } from '../taskError';
import * as z from '../zod';
import { bucketKey, MAX_KEY_LENGTH, slotsPk } from './keys';
import type { KeyOf } from './options';
import { requeue, type Wait } from './requeue';
import { acquireSlot, releaseSlot, type SlotLease } from './slots';
import { takeToken } from './tokenBucket';

/**
 * Whether an attempt may start now under its task's concurrency and rate
 * limits: decided before the claim, so that a task over its limit is not
 * charged an attempt. A task with neither limit passes without a call.
 */
export type Admission = { admitted: true; release(): Promise<void> } | { admitted: false; wait: Wait };

const nothing = async () => undefined;
const FREE: Admission = { admitted: true, release: nothing };

/** A token due this soon is waited for in the worker; later ones by sending the message again with a delay. */
const TOKEN_SLEEP_MS = 1_000;
/** A token held by a message that comes back this late is dropped and a fresh one taken, so late tasks do not crowd the ones due now. */
const TOKEN_STALE_MS = 5_000;
/** Waits for a concurrency slot: from about a second, half again as long each time, up to this. */
export const SLOT_WAIT_MAX_SECONDS = 30;

/** How long a task over its concurrency limit waits, the `waits`-th time: longer each time, with jitter. */
export function slotWaitSeconds(waits: number, random: () => number = Math.random): number {
  return Math.min(SLOT_WAIT_MAX_SECONDS, 1.5 ** waits) * (0.5 + random() / 2);
}

export interface AdmissionRequest {
  definition: TaskDefinition;
  task: TaskItem;
  /** Undefined when it was kept in S3 and its object is gone: the attempt fails without its handler. */
  payloadJson: string | undefined;
  message: TaskMessage;
  leaseMs: number;
  /** True once the batch has answered: nothing may start after that. */
  closed: () => boolean;
}

/**
 * Takes what the task's limits require for one attempt: a concurrency slot
 * (leased for the attempt's lease), then a rate token. Over the concurrency
 * limit, the task waits (a fresh message, a little later each time); a token
 * due within a second is waited for here, holding the slot; one due later
 * lets the slot go and sends the task again, holding the token, to start
 * when it is due. `release` lets the slot go once the attempt has ended.
 */
export async function admit(engine: Engine, request: AdmissionRequest): Promise<Admission> {
  const { definition, task, message } = request;
  const control = definition.control;
  if (!control || request.payloadJson === undefined) return FREE;
  const parsed = z.safeParse(definition.payload, JSON.parse(request.payloadJson) as unknown);
  // A payload its schema refuses fails its attempt without running the handler: it needs no slot or token.
  if (!parsed.success) return FREE;
  const keyFor = (fn: KeyOf<unknown> | undefined) => (fn ? keyOf(engine, fn, parsed.data, message.taskId) : undefined);

  let lease: SlotLease | undefined;
  if (control.concurrency) {
    const pk = slotsPk(task.name, keyFor(control.concurrency.key));
    const holder = `${message.taskId}#${message.run}#${randomBytes(6).toString('base64url')}`;
    lease = await acquireSlot(engine.store, pk, control.concurrency.limit, holder, engine.now, request.leaseMs);
    if (!lease) {
      const waits = message.waits ?? 0;
      // A task cancelled, finished or run again while it waited stops waiting (its message is acknowledged).
      // Looked at from its second wait on: the first costs no read, and a full limit cannot keep a cancelled task circling.
      if (waits > 0 && (await runIsOver(engine, message))) return { admitted: false, wait: { seconds: 0, requeued: true } };
      return { admitted: false, wait: await requeue(engine, task.priority, message, slotWaitSeconds(waits), { waits: waits + 1 }) };
    }
  }
  const release = lease ? letGo(engine, lease) : nothing;
  if (!control.rateLimit) return { admitted: true, release };

  try {
    const nowMs = engine.now().getTime();
    const held = message.tokenAt;
    // A token the message holds stands, however far ahead (a wait longer than SQS's longest delay comes back early), unless it went stale.
    const at =
      held !== undefined && nowMs - held <= TOKEN_STALE_MS
        ? held
        : await takeToken(engine.store, bucketKey(task.name, keyFor(control.rateLimit.key)), control.rateLimit, () => engine.now().getTime());
    const waitMs = at - engine.now().getTime();
    if (waitMs > TOKEN_SLEEP_MS) {
      await release();
      // Whole seconds, rounded down: the message comes back a little before its token, and waits out the rest here.
      return { admitted: false, wait: await requeue(engine, task.priority, message, Math.floor(waitMs / 1000), { tokenAt: at }) };
    }
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    if (request.closed()) {
      await release();
      return { admitted: false, wait: { seconds: 0, requeued: false } };
    }
    return { admitted: true, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Whether the message's run has ended, or a later run superseded it: nothing it waits for would run. */
async function runIsOver(engine: Engine, message: TaskMessage): Promise<boolean> {
  const state = await engine.store.getState(message.taskId);
  return state !== undefined && (state.run > message.run || TERMINAL_STATUSES.includes(state.status));
}

/** The release of a slot once its attempt has ended: a failure is logged, and the slot comes back when its lease ends. */
function letGo(engine: Engine, lease: SlotLease): () => Promise<void> {
  return async () => {
    await releaseSlot(engine.store, lease).catch((error: unknown) => {
      engine.logger.warn('Could not release a concurrency slot; it comes back when its lease ends', { slot: `${lease.pk}|${lease.sk}`, error: loggableError(error) });
      return false;
    });
  };
}

/**
 * A limit's key from the task's own function. One that throws, or gives
 * anything but a string of 1 to 200 characters, puts the task in the task
 * type's shared pool (a warning says so): a bug in a key function then slows
 * its tasks down, and never lets them past their limit.
 */
function keyOf(engine: Engine, fn: KeyOf<unknown>, payload: unknown, taskId: string): string | undefined {
  try {
    const key = fn(payload);
    if (typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH) return key;
    engine.logger.warn('A limit key must be a string of 1 to 200 characters; the task counts in its type\'s shared pool', { taskId, type: typeof key });
  } catch (error) {
    engine.logger.warn('A limit key function threw; the task counts in its type\'s shared pool', { taskId, error: loggableError(error) });
  }
  return undefined;
}
