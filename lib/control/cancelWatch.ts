import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { callTable } from '../store/dynamo';
import { stateKey, type StateItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';
import { refusal, type ProgressWrite } from './progress';

/** When a running attempt first looks for a cancel, and how often after that. */
export interface CancelTiming {
  afterMs: number;
  everyMs: number;
}

/**
 * Nothing for tasks shorter than `afterMs`; after that one eventually
 * consistent read of the small state item every `everyMs` (half a read unit),
 * skipped while progress writes, which learn of a cancel for free, come often enough.
 */
export const CANCEL_TIMING: CancelTiming = { afterMs: 2_000, everyMs: 2_000 };

/**
 * Looks for a cancel of a running attempt by reading its task's state now
 * and then. `checked()` tells it that something else (a progress write) has
 * just looked, so it need not; `found` hears what it finds, once.
 */
export class CancelWatch {
  private timer: NodeJS.Timeout | undefined;
  private lastCheck: number;
  private stopped = false;

  constructor(
    private readonly read: () => Promise<Pick<StateItem, 'status' | 'run' | 'attempts' | 'cancelRequestedAt'> | undefined>,
    private readonly claimed: StateItem,
    private readonly found: (refused: Exclude<ProgressWrite, { outcome: 'written' }>) => void,
    private readonly timing: CancelTiming = CANCEL_TIMING,
    private readonly now: () => number = Date.now,
  ) {
    this.lastCheck = now() + timing.afterMs - timing.everyMs;
    this.arm(timing.afterMs);
  }

  /** Something else just learned whether a cancel was asked. */
  checked(): void {
    this.lastCheck = this.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    // A watch never keeps a process alive on its own.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const since = this.now() - this.lastCheck;
    if (since < this.timing.everyMs) return this.arm(this.timing.everyMs - since);
    this.lastCheck = this.now();
    try {
      const seen = refusal(this.claimed, await this.read());
      if (this.stopped) return;
      if (seen.outcome !== 'written') {
        this.stop();
        return this.found(seen);
      }
    } catch {
      // A read that failed looks again at the next turn: a cancel is noticed late, never wrongly.
    }
    this.arm(this.timing.everyMs);
  }
}

/** The read a watch makes: the attributes that say whether the attempt still owns the task and was asked to stop. */
export function stateReader(store: TaskStore, taskId: string) {
  return async () => {
    const out = await callTable('GetItem', () =>
      store.client.send(
        new GetCommand({
          TableName: store.tableName,
          Key: stateKey(taskId),
          ConsistentRead: false,
          ProjectionExpression: '#s, run, attempts, cancelRequestedAt',
          ExpressionAttributeNames: { '#s': 'status' },
        }),
      ),
    );
    return out.Item as Pick<StateItem, 'status' | 'run' | 'attempts' | 'cancelRequestedAt'> | undefined;
  };
}
