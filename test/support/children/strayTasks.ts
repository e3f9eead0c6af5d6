import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask } from '../../../lib/task';

/** Starts a promise that rejects and never awaits it, then finishes as if nothing happened. */
export const strayRejecting = defineTask({
  name: 'stray_rejecting',
  payload: z.object({}),
  maxAttempts: 1,
  run: async () => {
    void Promise.reject(new Error('nobody awaits this'));
    await sleep(100);
    return { done: true };
  },
});

/** A neighbour in the same batch, still running when the stray rejection comes. */
export const slowNeighbour = defineTask({
  name: 'slow_neighbour',
  payload: z.object({}),
  maxAttempts: 1,
  run: async () => {
    await sleep(500);
    return { done: true };
  },
});
