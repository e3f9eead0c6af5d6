import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../support/load';
import { copyCheckout, startStack, type Stack } from '../support/stack';

/** CI runs a smaller N; `npm run soak` runs the full thousand and more. */
const COUNT = Number(process.env.LOAD_TASKS ?? 300);

const checkout = copyCheckout();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(checkout.dir, { LOCAL_DIR: `${checkout.dir}/.local`, LOCAL_FRESH: '1', POWERTOOLS_LOG_LEVEL: 'ERROR' });
}, 120_000);
afterAll(async () => {
  stack?.signal('SIGKILL');
  checkout.remove();
});

describe('load through the HTTP API on the npm start stack', () => {
  it(`takes ${COUNT} tasks with 20 requests in flight, a third of them flaky, to SUCCEEDED with none lost`, { timeout: 240_000 }, async () => {
    const report = await runLoad(stack, { count: COUNT, inFlight: 20, flakyShare: 1 / 3, timeoutMs: 180_000 });
    expect(report).toMatchObject({ accepted: COUNT, rejected: 0, lost: 0, terminal: { SUCCEEDED: COUNT } });
    // Each flaky task ran twice, every other once: nothing ran more often than its attempts say.
    expect(report.attempts).toBe(COUNT + Math.ceil(COUNT / 3));
  });
});
