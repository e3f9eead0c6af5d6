import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { callTable, guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import type { TaskStore } from '../store/taskStore';
import { inTurn } from './inTurn';
import { expiresAfter, slotSk } from './keys';

/**
 * A concurrency limit as leased slots: `limit` items under one partition key,
 * each held by at most one attempt at a time (a conditional write), until
 * the holder lets it go or its lease ends. A worker that crashed holding one
 * loses it when its lease ends: nothing is ever stuck.
 */

/** A slot held: where, and by whom (the holder's own token, which releasing it checks). */
export interface SlotLease {
  pk: string;
  sk: string;
  holder: string;
}

/** Free slots tried, from one read, before a take gives up and waits (each refusal is another worker's take). */
const TRIES = 3;

interface SlotItem {
  sk: string;
  holder?: string;
  leaseEnd?: number;
}

/**
 * Takes a free slot of `pk` for `leaseMs`, if fewer than `limit` are held:
 * one consistent Query (all the slots, a few hundred bytes) and one
 * conditional write. Undefined when every slot is held. A write whose answer
 * was lost below the SDK's retries is recognised as this take's (guardedWrite);
 * one that no try answered is let go again before the error goes up, so that
 * an unanswered take does not hold a slot until its lease ends.
 */
export async function acquireSlot(store: TaskStore, pk: string, limit: number, holder: string, now: () => Date, leaseMs: number): Promise<SlotLease | undefined> {
  return inTurn(`${store.tableName}|${pk}`, async () => {
    const at = now().getTime();
    const out = await callTable('Query', () =>
      store.client.send(new QueryCommand({ TableName: store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true })),
    );
    const items = (out.Items ?? []) as SlotItem[];
    const held = new Set(items.filter((s) => s.holder !== undefined && (s.leaseEnd ?? 0) > at).map((s) => s.sk));
    // Slots above a lowered limit still count while held, and are not handed out again.
    if (held.size >= limit) return undefined;
    const free = Array.from({ length: limit }, (_, i) => slotSk(i)).filter((sk) => !held.has(sk));
    // Workers pick among the free slots at random, so that two of them rarely want the same one.
    for (const sk of shuffled(free).slice(0, TRIES)) {
      const lease = { pk, sk, holder };
      try {
        if (await take(store, lease, now().getTime(), leaseMs)) return lease;
      } catch (error) {
        await releaseSlot(store, lease).catch(() => false);
        throw error;
      }
    }
    return undefined;
  });
}

async function take(store: TaskStore, lease: SlotLease, nowMs: number, leaseMs: number): Promise<boolean> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { pk: lease.pk, sk: lease.sk },
        UpdateExpression: 'SET holder = :holder, leaseEnd = :leaseEnd, expiresAt = :expiresAt, wt = :wt',
        ConditionExpression: 'attribute_not_exists(holder) OR leaseEnd <= :now',
        ExpressionAttributeValues: { ':holder': lease.holder, ':leaseEnd': nowMs + leaseMs, ':expiresAt': expiresAfter(nowMs + leaseMs), ':now': nowMs, ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied;
}

/** Lets a slot go, if `lease.holder` still holds it; whether it did (false also when its lease had ended and another took it). */
export async function releaseSlot(store: TaskStore, lease: SlotLease): Promise<boolean> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { pk: lease.pk, sk: lease.sk },
        UpdateExpression: 'SET wt = :wt REMOVE holder, leaseEnd',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': lease.holder, ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
