/**
 * `npm run soak`, in two phases on the `npm start` stack:
 *
 * 1. load: SOAK_LOAD_TASKS (1,000) tasks through the HTTP API, 20 in flight,
 *    a third of them flaky: every one must end SUCCEEDED (the full N of the
 *    load test that `npm test` runs with 300);
 * 2. kills: mixed load for SOAK_MINUTES while the whole stack is killed
 *    (SIGKILL) every SOAK_KILL_EVERY_SECONDS and started again on the same
 *    .local, then a wait for every accepted task to end.
 *
 * Prints accepted, terminal by status, lost (must be 0) and p50/p99 time to
 * terminal for each; exits 1 if anything was lost or a phase could not run.
 */
import { pollUntilTerminal, runLoad, summariseTerminal } from '../test/support/load';
import { copyCheckout, startStack, type Stack } from '../test/support/stack';

const LOAD_TASKS = Number(process.env.SOAK_LOAD_TASKS ?? 1000);
const MINUTES = Number(process.env.SOAK_MINUTES ?? 3);
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_SECONDS ?? 40) * 1000;
const IN_FLIGHT = Number(process.env.SOAK_IN_FLIGHT ?? 10);
/** Short leases, so a task running at a kill is taken over in seconds, not a minute. */
const STACK_ENV = { LEASE_MARGIN_MS: '2000', POWERTOOLS_LOG_LEVEL: 'ERROR' };
const START_ATTEMPTS = 3;

const checkout = copyCheckout();
const dataDir = `${checkout.dir}/.local`;
/** The stack running now; killed on any way out. */
let stack: Stack | undefined;

function nextTask(i: number): { name: string; payload: unknown } {
  const kind = i % 20;
  if (kind < 10) return { name: 'write_log', payload: { message: `soak #${i}` } };
  if (kind < 17) return { name: 'flaky', payload: { failTimes: 1 + (i % 2), key: `soak-${process.pid}-${i}` } };
  return { name: 'fail', payload: { message: `soak failure #${i}` } };
}

/** Starts the stack on the soak's .local, trying again if a start fails (a port not yet released after a kill). */
async function restart(fresh = false): Promise<Stack> {
  for (let attempt = 1; ; attempt++) {
    try {
      stack = await startStack(checkout.dir, { ...STACK_ENV, LOCAL_DIR: dataDir, ...(fresh ? { LOCAL_FRESH: '1' } : {}) });
      return stack;
    } catch (error) {
      if (attempt === START_ATTEMPTS) throw error;
      process.stderr.write(`start ${attempt} failed, trying again: ${(error as Error).message.split('\n')[0]}\n`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

async function loadPhase(): Promise<{ lost: number; allSucceeded: boolean }> {
  const running = await restart(true);
  const report = await runLoad(running, { count: LOAD_TASKS, inFlight: 20, flakyShare: 1 / 3, timeoutMs: 300_000 });
  process.stdout.write(`${JSON.stringify({ phase: 'load', ...report }, null, 2)}\n`);
  running.signal('SIGKILL');
  await running.exited;
  return { lost: report.lost, allSucceeded: report.terminal.SUCCEEDED === report.accepted && report.rejected === 0 };
}

async function killPhase(): Promise<{ lost: number }> {
  await restart(true);
  const accepted = new Set<string>();
  let refused = 0;
  let kills = 0;
  let restarting: Promise<unknown> | undefined;
  let counter = 0;
  const endAt = Date.now() + MINUTES * 60_000;

  const killer = setInterval(() => {
    if (restarting) return;
    kills++;
    stack!.signal('SIGKILL');
    restarting = stack!.exited.then(() => restart()).finally(() => (restarting = undefined));
    // A failed restart ends the soak (below), not the process with an unhandled rejection.
    restarting.catch(() => undefined);
  }, KILL_EVERY_MS);

  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (Date.now() < endAt) {
          if (restarting) {
            await restarting;
            continue;
          }
          const { status, body } = await stack!.request('POST', '/tasks', nextTask(counter++)).catch(() => ({ status: 0, body: undefined }));
          if (status === 202 && body) accepted.add(body.taskId);
          else refused++;
        }
      }),
    );
  } finally {
    clearInterval(killer);
  }
  if (restarting) await restarting;
  process.stdout.write(`kill phase load done: ${accepted.size} accepted, ${refused} refused (stack down), ${kills} kills; waiting for terminal states\n`);

  const ids = [...accepted];
  const last = await pollUntilTerminal(stack!, ids, { inFlight: 20, timeoutMs: 180_000, pollMs: 1_000 });
  const { terminal, lost, timeToTerminalMs } = summariseTerminal(ids, last);
  const report = {
    phase: 'kills',
    minutes: MINUTES,
    kills,
    accepted: accepted.size,
    refused,
    terminal,
    lost: lost.length,
    // What a lost task looked like, to start the investigation from.
    lostRecords: lost.slice(0, 5).map((id) => {
      const r = last.get(id);
      return { taskId: id, name: r?.name, status: r?.status ?? 'unread', attempts: r?.attempts, updatedAt: r?.updatedAt };
    }),
    timeToTerminalMs,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return { lost: lost.length };
}

async function main(): Promise<number> {
  const load = LOAD_TASKS > 0 ? await loadPhase() : { lost: 0, allSucceeded: true };
  const kills = MINUTES > 0 ? await killPhase() : { lost: 0 };
  const ok = load.lost === 0 && load.allSucceeded && kills.lost === 0;
  process.stdout.write(`soak ${ok ? 'passed' : 'FAILED'}: load lost ${load.lost}${load.allSucceeded ? '' : ' (not all SUCCEEDED)'}, kills lost ${kills.lost}\n`);
  return ok ? 0 : 1;
}

void main()
  .catch((error: unknown) => {
    process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  })
  .then((code) => {
    stack?.signal('SIGKILL');
    checkout.remove();
    process.exit(code);
  });
