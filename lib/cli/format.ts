import type { Schedule, Stats, Task, TaskSummary } from '../client';

/** Rows as aligned columns under a header; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 850 ms, 12.3 s, 4 min 5 s. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** An ISO timestamp as people read it here: date and time to the second, UTC. */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : '-';
}

export function taskTable(tasks: TaskSummary[]): string {
  return table(
    ['ID', 'NAME', 'STATUS', 'ATTEMPTS', 'CREATED (UTC)', 'DURATION'],
    tasks.map((t) => [t.taskId, t.name, t.status, `${t.attempts}/${t.maxAttempts}`, when(t.createdAt), duration(t.durationMs)]),
  );
}

/** A task's record, field by field, its payload and result as JSON. */
export function taskDetail(task: Task): string {
  const fields: Array<[string, string]> = [
    ['id', task.taskId],
    ['name', task.name],
    ['status', task.status],
    ['attempts', `${task.attempts}/${task.maxAttempts} (run ${task.run})`],
    ['priority', task.priority],
    ['created', when(task.createdAt)],
    ...(task.runAt ? [['run at', when(task.runAt)] as [string, string]] : []),
    ['started', when(task.startedAt)],
    ['finished', when(task.finishedAt)],
    ['duration', duration(task.durationMs)],
    ...(task.nextAttemptAt ? [['next attempt', when(task.nextAttemptAt)] as [string, string]] : []),
    ...(task.progress !== null && task.progress !== undefined ? [['progress', `${JSON.stringify(task.progress)} (${when(task.progressAt)})`] as [string, string]] : []),
    ...(task.cancelRequestedAt ? [['cancel asked', when(task.cancelRequestedAt)] as [string, string]] : []),
    ...(task.debounce ? [['debounce', `${task.debounce.key}, ${task.debounce.seconds} s`] as [string, string]] : []),
    ...(task.error ? [['error', `${task.error.type}: ${task.error.message}`] as [string, string]] : []),
    ...(task.traceId ? [['trace', task.traceId] as [string, string]] : []),
    // Over 256 KB a payload is a link (tasks payload ID prints it whole).
    ['payload', task.payloadUrl ? `over 256 KB: tasks payload ${task.taskId} (or ${task.payloadUrl})` : JSON.stringify(task.payload)],
    ['result', JSON.stringify(task.result)],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n');
}

/** The last hour in a few lines: outcomes, the queues, and the busiest recent minutes. */
export function statsSummary(stats: Stats, minutes = 10): string {
  const { totals, queues } = stats;
  const recent = stats.throughput.slice(-minutes);
  return [
    `last ${stats.windowMinutes} min: ${totals.succeeded} succeeded, ${totals.failed} failed, ${totals.cancelled} cancelled`,
    `queues: ${queues.waiting} waiting, ${queues.inFlight} in flight (high: ${queues.byPriority.high.visible + queues.byPriority.high.delayed} waiting, default: ${queues.byPriority.default.visible + queues.byPriority.default.delayed} waiting)`,
    '',
    table(['MINUTE (UTC)', 'SUCCEEDED', 'FAILED'], recent.map((m) => [when(m.minute).slice(0, 16), String(m.succeeded), String(m.failed)])),
  ].join('\n');
}

/** Schedules as a table: when each runs, and what it did last. */
export function scheduleTable(schedules: Schedule[]): string {
  return table(
    ['NAME', 'WHEN', 'TIME ZONE', 'NEXT RUN (UTC)', 'PAUSED', 'LAST RUN (UTC)'],
    schedules.map((s) => [s.name, s.cron !== undefined ? `cron ${s.cron}` : `every ${s.every ?? ''}`, s.timezone, when(s.nextRunAt), s.paused ? 'yes' : 'no', when(s.lastRunAt)]),
  );
}
