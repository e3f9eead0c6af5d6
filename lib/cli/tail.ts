import type { TaskSummary, TasksClient } from '../client';
import { duration, when } from './format';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
/** Tasks followed one by one once they fall off the first page, at most. */
const FOLLOWED_OFF_PAGE = 20;

export interface TailOptions {
  intervalMs: number;
  /** How many of the newest tasks to show first. */
  backlog: number;
  json: boolean;
  out(line: string): void;
  signal: AbortSignal;
}

/**
 * Follows the API by polling the newest page of tasks: prints each task when
 * it first appears and again each time its status changes, until `signal`
 * aborts. A task still going when it falls off the page is read on its own.
 */
export async function tail(client: TasksClient, options: TailOptions): Promise<void> {
  const status = new Map<string, string>();
  const print = (task: TaskSummary, event: 'seen' | 'new' | 'changed') => {
    status.set(task.taskId, task.status);
    if (options.json) return options.out(JSON.stringify({ event, ...task }));
    const outcome = TERMINAL.has(task.status) ? `  ${duration(task.durationMs)}${task.error ? `  ${task.error.type}: ${task.error.message}` : ''}` : '';
    options.out(`${when(task.updatedAt).slice(11)}  ${task.taskId}  ${task.name}  ${task.status}${outcome}`);
  };

  const first = await client.list({ limit: Math.max(1, options.backlog) });
  for (const task of first.items.toReversed()) print(task, 'seen');
  while (!options.signal.aborted) {
    await pause(options.intervalMs, options.signal);
    if (options.signal.aborted) break;
    const page = await client.list({ limit: 50 });
    for (const task of page.items.toReversed()) {
      const before = status.get(task.taskId);
      if (before === undefined) print(task, 'new');
      else if (before !== task.status) print(task, 'changed');
    }
    const onPage = new Set(page.items.map((t) => t.taskId));
    const offPage = [...status].filter(([id, s]) => !onPage.has(id) && !TERMINAL.has(s)).slice(0, FOLLOWED_OFF_PAGE);
    for (const [id, before] of offPage) {
      const task = await client.get(id).catch(() => undefined);
      if (!task) status.delete(id);
      else if (task.status !== before) print(task, 'changed');
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
