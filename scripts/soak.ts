/**
 * `npm run soak`: mixed load on the `npm start` stack for SOAK_MINUTES, with
 * the whole stack killed (SIGKILL) every SOAK_KILL_EVERY_SECONDS and started
 * again on the same .local, then waits for every accepted task to end.
 * Prints accepted, terminal by status, lost (must be 0) and p50/p99 time to
 * terminal; exits 1 if anything was lost.
 */
import { copyCheckout, startStack, type Stack } from '../test/support/stack';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 3);
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_SECONDS ?? 40) * 1000;
const IN_FLIGHT = Number(process.env.SOAK_IN_FLIGHT ?? 10);
/** Short leases, so a task running at a kill is taken over in seconds, not a minute. */
const STACK_ENV = { LEASE_MARGIN_MS: '2000', POWERTOOLS_LOG_LEVEL: 'ERROR' };

function nextTask(i: number): { name: string; payload: unknown } {
  const kind = i % 20;
  if (kind < 10) return { name: 'write_log', payload: { message: `soak #${i}` } };
  if (kind < 17) return { name: 'flaky', payload: { failTimes: 1 + (i % 2), key: `soak-${process.pid}-${i}` } };
  return { name: 'fail', payload: { message: `soak failure #${i}` } };
}

async function main(): Promise<void> {
  const checkout = copyCheckout();
  const dataDir = `${checkout.dir}/.local`;
  let stack: Stack = await startStack(checkout.dir, { ...STACK_ENV, LOCAL_DIR: dataDir, LOCAL_FRESH: '1' });
  const accepted = new Set<string>();
  let refused = 0;
  let kills = 0;
  let restarting = false;
  let counter = 0;
  const endAt = Date.now() + MINUTES * 60_000;

  const killer = setInterval(() => {
    if (restarting) return;
    restarting = true;
    kills++;
    stack.signal('SIGKILL');
    void stack.exited
      .then(() => startStack(checkout.dir, { ...STACK_ENV, LOCAL_DIR: dataDir }))
      .then((s) => (stack = s))
      .finally(() => (restarting = false));
  }, KILL_EVERY_MS);

  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (Date.now() < endAt) {
        if (restarting) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const { status, body } = await stack.request('POST', '/tasks', nextTask(counter++)).catch(() => ({ status: 0, body: undefined }));
        if (status === 202 && body) accepted.add(body.taskId);
        else refused++;
      }
    }),
  );
  clearInterval(killer);
  while (restarting) await new Promise((r) => setTimeout(r, 200));
  process.stdout.write(`load done: ${accepted.size} accepted, ${refused} refused (stack down), ${kills} kills; waiting for terminal states\n`);

  const terminal = new Map<string, { status: string; ms: number }>();
  const deadline = Date.now() + 180_000;
  while (terminal.size < accepted.size && Date.now() < deadline) {
    const open = [...accepted].filter((id) => !terminal.has(id));
    for (let i = 0; i < open.length; i += 20) {
      await Promise.all(
        open.slice(i, i + 20).map(async (id) => {
          const { body } = await stack.request('GET', `/tasks/${id}`);
          if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(body.status)) {
            terminal.set(id, { status: body.status, ms: Date.parse(String(body.finishedAt)) - Date.parse(String(body.createdAt)) });
          }
        }),
      );
    }
    if (terminal.size < accepted.size) await new Promise((r) => setTimeout(r, 1_000));
  }
  const lostRecords = await Promise.all(
    [...accepted].filter((id) => !terminal.has(id)).map(async (id) => (await stack.request('GET', `/tasks/${id}`)).body),
  );
  stack.signal('SIGKILL');
  checkout.remove();

  const byStatus: Record<string, number> = {};
  for (const { status } of terminal.values()) byStatus[status] = (byStatus[status] ?? 0) + 1;
  const times = [...terminal.values()].map((t) => t.ms).sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)] ?? 0;
  const report = {
    minutes: MINUTES,
    kills,
    accepted: accepted.size,
    refused,
    terminal: byStatus,
    lost: accepted.size - terminal.size,
    // What a lost task looked like, to start the investigation from.
    lostRecords: lostRecords.slice(0, 5).map((r) => ({ taskId: r.taskId, name: r.name, status: r.status, attempts: r.attempts, updatedAt: r.updatedAt })),
    timeToTerminalMs: { p50: pct(0.5), p99: pct(0.99) },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exit(report.lost === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
