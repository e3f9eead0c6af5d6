import { TASK_STATUSES, type Priority, type TaskStatus } from '../types';
import type { TasksClient } from '../client';
import { intOption, type CommandSpec, type Invocation } from './args';
import { EXIT, UsageError } from './exitCodes';
import { scheduleTable, statsSummary, taskDetail, taskTable } from './format';
import { tail } from './tail';

/** What a command runs with. */
export interface CommandContext {
  client: TasksClient;
  args: string[];
  values: Invocation['values'];
  json: boolean;
  out(text: string): void;
  /** Reads `--payload @file` (`@-`: standard input). */
  readText(path: string): string;
  /** Aborted by Ctrl+C: `tail` stops and exits 0. */
  signal: AbortSignal;
}

export interface Command extends CommandSpec {
  run(ctx: CommandContext): Promise<number>;
}

const STATUSES: readonly string[] = TASK_STATUSES;

export const COMMANDS: Command[] = [
  {
    name: 'enqueue',
    args: ['NAME'],
    summary: 'Enqueue a task by name; prints its id.',
    options: {
      payload: { type: 'string', short: 'p' },
      delay: { type: 'string' },
      at: { type: 'string' },
      priority: { type: 'string' },
      'max-attempts': { type: 'string' },
      'idempotency-key': { type: 'string' },
      'debounce-key': { type: 'string' },
      'debounce-seconds': { type: 'string' },
    },
    help: [
      '-p, --payload JSON|@file   the payload, as JSON or a file holding it (@- reads standard input); default {}',
      '--delay SECONDS            start no sooner than this, up to a year (31536000)',
      '--at TIME                  start no sooner than this moment (RFC 3339: 2027-01-01T09:00:00+01:00), up to a year ahead',
      '--priority high|default    the queue it goes to (default: the task\'s own)',
      '--max-attempts N           runs before it fails, 1 to 25 (default: the task\'s own)',
      '--idempotency-key KEY      the same key and request give the same task (default: a fresh key)',
      '--debounce-key KEY         with --debounce-seconds: enqueues with this key within the window run once, with the',
      '--debounce-seconds N         last payload, N seconds (1 to 900) after the last; each prints the same id',
    ],
    async run(ctx) {
      const priority = ctx.values.priority as string | undefined;
      if (priority !== undefined && priority !== 'high' && priority !== 'default') throw new UsageError(`--priority must be high or default, not "${priority}"`, 'enqueue');
      const delaySeconds = intOption(ctx.values, 'delay', 0, 31_536_000);
      const runAt = ctx.values.at as string | undefined;
      if (runAt !== undefined && delaySeconds !== undefined) throw new UsageError('give --delay or --at, not both', 'enqueue');
      const maxAttempts = intOption(ctx.values, 'max-attempts', 1, 25);
      const idempotencyKey = ctx.values['idempotency-key'] as string | undefined;
      const debounceKey = ctx.values['debounce-key'] as string | undefined;
      const debounceSeconds = intOption(ctx.values, 'debounce-seconds', 1, 900);
      if ((debounceKey === undefined) !== (debounceSeconds === undefined)) throw new UsageError('--debounce-key and --debounce-seconds go together', 'enqueue');
      const accepted = await ctx.client.enqueue(ctx.args[0]!, payloadOf(ctx), {
        ...(debounceKey === undefined ? {} : { debounce: { key: debounceKey, seconds: debounceSeconds! } }),
        ...(delaySeconds === undefined ? {} : { delaySeconds }),
        ...(runAt === undefined ? {} : { runAt }),
        ...(priority ? { priority: priority as Priority } : {}),
        ...(maxAttempts === undefined ? {} : { maxAttempts }),
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      ctx.out(ctx.json ? JSON.stringify(accepted) : `${accepted.taskId}  ${ctx.args[0]}  ${accepted.status}`);
      return EXIT.ok;
    },
  },
  {
    name: 'get',
    args: ['ID'],
    summary: 'Show a task: its status, attempts, payload, result or error.',
    options: {},
    help: [],
    async run(ctx) {
      const task = await ctx.client.get(ctx.args[0]!);
      ctx.out(ctx.json ? JSON.stringify(task) : taskDetail(task));
      return EXIT.ok;
    },
  },
  {
    name: 'payload',
    args: ['ID'],
    summary: 'Print a task\'s payload as JSON, whole (one over 256 KB is read from its link).',
    options: {},
    help: [],
    async run(ctx) {
      ctx.out(JSON.stringify(await ctx.client.payload(ctx.args[0]!)));
      return EXIT.ok;
    },
  },
  {
    name: 'list',
    args: [],
    summary: 'List tasks, newest first.',
    options: { status: { type: 'string' }, name: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    help: [`--status STATUS   only tasks in this status (${STATUSES.join(', ')})`, '--name NAME       only tasks of this name', '--limit N         tasks per page, 1 to 100 (default 20)', '--cursor CURSOR   the page after the one that printed it'],
    async run(ctx) {
      const status = (ctx.values.status as string | undefined)?.toUpperCase();
      if (status !== undefined && !STATUSES.includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not "${status}"`, 'list');
      const limit = intOption(ctx.values, 'limit', 1, 100);
      const page = await ctx.client.list({
        ...(status ? { status: status as TaskStatus } : {}),
        ...(ctx.values.name ? { name: ctx.values.name as string } : {}),
        ...(limit === undefined ? {} : { limit }),
        ...(ctx.values.cursor ? { cursor: ctx.values.cursor as string } : {}),
      });
      if (ctx.json) ctx.out(JSON.stringify(page));
      else ctx.out(page.items.length === 0 ? 'no tasks' : `${taskTable(page.items)}${page.nextCursor ? `\n\nmore: tasks list --cursor ${page.nextCursor}` : ''}`);
      return EXIT.ok;
    },
  },
  {
    name: 'cancel',
    args: ['ID'],
    summary: 'Cancel a task: at once if it has not started (SCHEDULED, PENDING or RETRYING), within a few seconds if it runs.',
    options: {},
    help: [],
    async run(ctx) {
      const task = await ctx.client.cancel(ctx.args[0]!);
      const asked = task.status === 'RUNNING' ? ' (cancel requested: it stops within a few seconds)' : '';
      ctx.out(ctx.json ? JSON.stringify(task) : `${task.taskId}  ${task.name}  ${task.status}${asked}`);
      return EXIT.ok;
    },
  },
  {
    name: 'retry',
    args: ['ID'],
    summary: 'Run a FAILED or CANCELLED task again.',
    options: {},
    help: [],
    async run(ctx) {
      const accepted = await ctx.client.retry(ctx.args[0]!);
      ctx.out(ctx.json ? JSON.stringify(accepted) : `${accepted.taskId}  ${accepted.status}`);
      return EXIT.ok;
    },
  },
  {
    name: 'workflow',
    args: [],
    summary: 'Enqueue a workflow: a chain or a group, as POST /workflows takes it; prints its id.',
    options: { body: { type: 'string', short: 'b' } },
    help: ['-b, --body JSON|@file   {"chain": [{"name", "payload"?}, ...]} or {"group": [...], "then"?: {"name"}} (@- reads standard input)'],
    async run(ctx) {
      if (ctx.values.body === undefined) throw new UsageError('--body is required', 'workflow');
      const body = payloadOf(ctx, 'body', 'workflow');
      const accepted = await ctx.client.enqueueWorkflow(body as never);
      ctx.out(ctx.json ? JSON.stringify(accepted) : accepted.taskId);
      return EXIT.ok;
    },
  },
  {
    name: 'signal',
    args: ['ID', 'NAME'],
    summary: 'Send a signal to a workflow waiting for it; its data is the next step\'s payload.',
    options: { data: { type: 'string', short: 'd' } },
    help: ['-d, --data JSON|@file   the signal\'s data (default: none)'],
    async run(ctx) {
      const data = payloadOf(ctx, 'data', 'signal');
      const taken = await ctx.client.signal(ctx.args[0]!, ctx.args[1]!, data);
      ctx.out(ctx.json ? JSON.stringify(taken) : `${taken.taskId}  ${taken.status}${taken.repeated ? '  (already taken: nothing changed)' : ''}`);
      return EXIT.ok;
    },
  },
  {
    name: 'wait',
    args: ['ID'],
    summary: 'Wait for a task to end; exits 0 if it SUCCEEDED, 1 if it FAILED or was CANCELLED, 5 on timeout.',
    options: { timeout: { type: 'string' } },
    help: ['--timeout SECONDS   give up after this long (default 300)'],
    async run(ctx) {
      const timeoutMs = (intOption(ctx.values, 'timeout', 1, 86_400) ?? 300) * 1000;
      const task = await ctx.client.waitFor(ctx.args[0]!, { timeoutMs });
      ctx.out(ctx.json ? JSON.stringify(task) : taskDetail(task));
      return task.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
    },
  },
  {
    name: 'tail',
    args: [],
    summary: 'Follow new tasks and their outcomes until Ctrl+C.',
    options: { interval: { type: 'string' }, backlog: { type: 'string' } },
    help: ['--interval SECONDS   how often to look (default 2)', '--backlog N          the newest tasks to show first (default 10)'],
    async run(ctx) {
      const intervalMs = (intOption(ctx.values, 'interval', 1, 3_600) ?? 2) * 1000;
      const backlog = intOption(ctx.values, 'backlog', 0, 100) ?? 10;
      await tail(ctx.client, { intervalMs, backlog, json: ctx.json, out: ctx.out, signal: ctx.signal });
      return EXIT.ok;
    },
  },
  {
    name: 'stats',
    args: [],
    summary: 'Finished tasks over the last hour and the queues\' depth.',
    options: {},
    help: [],
    async run(ctx) {
      const stats = await ctx.client.stats();
      ctx.out(ctx.json ? JSON.stringify(stats) : statsSummary(stats));
      return EXIT.ok;
    },
  },
  {
    name: 'schedules',
    args: [],
    summary: 'List the recurring schedules and their next runs.',
    options: {},
    help: [],
    async run(ctx) {
      const { items } = await ctx.client.schedules();
      ctx.out(ctx.json ? JSON.stringify({ items }) : items.length === 0 ? 'no schedules' : scheduleTable(items));
      return EXIT.ok;
    },
  },
  ...(['pause', 'resume'] as const).map(
    (verb): Command => ({
      name: verb,
      args: ['NAME'],
      summary: verb === 'pause' ? 'Pause a recurring schedule: its ticks enqueue nothing until it is resumed.' : 'Resume a paused schedule from its next tick.',
      options: {},
      help: [],
      async run(ctx) {
        const schedule = verb === 'pause' ? await ctx.client.pauseSchedule(ctx.args[0]!) : await ctx.client.resumeSchedule(ctx.args[0]!);
        ctx.out(ctx.json ? JSON.stringify(schedule) : scheduleTable([schedule]));
        return EXIT.ok;
      },
    }),
  ),
];

/** `--payload`: JSON text, or `@file` holding it; `{}` when not given. */
export function payloadOf(ctx: Pick<CommandContext, 'values' | 'readText'>, option = 'payload', command = 'enqueue'): unknown {
  const raw = ctx.values[option] as string | undefined;
  if (raw === undefined) return option === 'payload' ? {} : undefined;
  let text = raw;
  if (raw.startsWith('@')) {
    try {
      text = ctx.readText(raw.slice(1));
    } catch (error) {
      throw new UsageError(`--${option} ${raw}: ${(error as Error).message}`, command);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`--${option} is not JSON: ${text.slice(0, 80)}`, command);
  }
}
