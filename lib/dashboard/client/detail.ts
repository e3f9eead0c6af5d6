/**
 * One task's detail in a modal <dialog> (focus is trapped and Escape closes
 * it, natively), with cancel and retry through the JSON API.
 */
import { messageOf, statusOf, tasksApi } from './api';
import { $, el, fmtDuration, fmtJson, fmtTime, setText, statusBadge } from './dom';
import { progressView } from './progress';
import { state } from './state';
import type { Attempt, Task, WorkflowStep } from './types';

/** A RUNNING task is asked to stop (202): it ends CANCELLED within a few seconds. */
const CANCELLABLE = ['SCHEDULED', 'PENDING', 'RETRYING', 'RUNNING', 'WAITING'];
const RETRYABLE = ['FAILED', 'CANCELLED'];

/** What the detail needs from the rest of the page. */
export interface DetailHooks {
  guarded(step: () => Promise<unknown>): Promise<void>;
  /** After a cancel or retry: the list and the figures change too. */
  refreshAround(): Promise<unknown>;
  signOut(message: string): void;
}

let hooks: DetailHooks;

export async function openDetail(taskId: string): Promise<void> {
  state.detail = { taskId, opener: document.activeElement, updatedAt: null };
  setText($('detail-title'), `Task ${taskId}`);
  setDetailMessage('Loading…');
  $('detail-body').replaceChildren();
  $('detail-cancel').hidden = true;
  $('detail-retry').hidden = true;
  const dialog = $<HTMLDialogElement>('detail');
  if (!dialog.open) dialog.showModal();
  await loadDetail(true);
}

/** Re-reads the open task; skips the redraw when nothing changed, so polling does not reset scroll. */
export async function loadDetail(clearMessage: boolean): Promise<void> {
  const open = state.detail;
  if (!open) return;
  try {
    const task: Task = await tasksApi.get(open.taskId);
    if (state.detail !== open) return;
    if (clearMessage) setDetailMessage('');
    if (task.updatedAt === open.updatedAt) return;
    open.updatedAt = task.updatedAt;
    renderDetail(task);
  } catch (e) {
    if (state.detail !== open) return;
    if (statusOf(e) === 401) throw e;
    setDetailMessage(statusOf(e) === 404 ? 'This task no longer exists.' : `Could not load the task: ${messageOf(e)}`);
  }
}

function setDetailMessage(text: string): void {
  setText($('detail-message'), text);
}

function field(label: string, value: Node | string): HTMLElement[] {
  return [el('dt', { text: label }), el('dd', null, value)];
}

function renderDetail(t: Task): void {
  const facts = el(
    'dl',
    null,
    [
      field('Name', t.name),
      field('Status', statusBadge(t.status)),
      field('Priority', t.priority),
      field('Run', String(t.run)),
      field('Attempts', `${t.attempts} of ${t.maxAttempts}`),
      field('Timeout', `${t.timeoutSeconds} s`),
      field('Created', fmtTime(t.createdAt)),
      ...(t.runAt ? [field('Runs at', fmtTime(t.runAt))] : []),
      field('Started', fmtTime(t.startedAt)),
      field('Finished', fmtTime(t.finishedAt)),
      ...(t.nextAttemptAt ? [field('Next attempt', fmtTime(t.nextAttemptAt))] : []),
      field('Last attempt took', fmtDuration(t.durationMs)),
      ...(t.cancelRequestedAt ? [field('Cancel requested', fmtTime(t.cancelRequestedAt))] : []),
      ...(t.debounce ? [field('Debounce', `${t.debounce.key}, ${t.debounce.seconds} s`)] : []),
      field('Updated', fmtTime(t.updatedAt)),
      // The id to search the tracing backend for: the request, the enqueue and every attempt (docs/tracing.md).
      ...(t.traceId ? [field('Trace', el('code', { id: 'detail-trace', text: t.traceId }))] : []),
    ].flat(),
  );
  const parts: HTMLElement[] = [facts];
  if (t.steps) parts.push(el('h3', { text: 'Steps' }), stepsTable(t.steps));
  if (t.progress !== null && t.progress !== undefined) parts.push(el('h3', { text: 'Progress' }), progressView(t.progress, t.progressAt));
  if (t.error) {
    parts.push(el('h3', { text: 'Error' }), el('p', { className: 'error-text', id: 'detail-error', text: `${t.error.type}: ${t.error.message}` }));
  }
  parts.push(el('h3', { text: 'Payload' }), t.payloadUrl ? linked('detail-payload', t.payloadUrl, 'payload', 'over 256 KB') : el('pre', { id: 'detail-payload', tabindex: '0', 'aria-label': 'Payload', text: fmtJson(t.payload) }));
  parts.push(el('h3', { text: 'Result' }), t.resultUrl ? linked('detail-result', t.resultUrl, 'result', 'too large to show here') : el('pre', { id: 'detail-result', tabindex: '0', 'aria-label': 'Result', text: fmtJson(t.result) }));
  parts.push(el('h3', { text: 'Attempts' }), attemptsTable(t.attemptLog ?? []));
  $('detail-body').replaceChildren(...parts);
  $('detail-cancel').hidden = !CANCELLABLE.includes(t.status) || Boolean(t.cancelRequestedAt);
  $('detail-retry').hidden = !RETRYABLE.includes(t.status);
}

/** A payload or result kept in S3 and too large to show: a link to its JSON (presigned, for 15 minutes). */
function linked(id: string, url: string, what: string, why: string): HTMLElement {
  return el('p', { id }, [`The ${what} is ${why}: `, el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: `open it (JSON, for 15 minutes)` })]);
}

/** A workflow's steps, in order: each one's status, and a button that opens it (its payload, result, attempts). */
function stepsTable(steps: WorkflowStep[]): HTMLElement {
  const head = el('tr', null, ['#', 'Step', 'Status', ''].map((h) => el('th', { scope: 'col', text: h })));
  const rows = steps.map((s) =>
    el('tr', null, [
      el('td', { className: 'num', text: String(s.index) }),
      el('td', { text: s.waitFor ? `waits for "${s.waitFor}"` : s.name }),
      el('td', null, statusBadge(s.status)),
      el('td', null, el('button', { type: 'button', className: 'task-link', 'aria-label': `Open step ${s.index}`, text: s.taskId, onclick: () => void openDetail(s.taskId) })),
    ]),
  );
  return el('table', { id: 'detail-steps' }, [el('caption', { className: 'visually-hidden', text: 'Steps, in order' }), el('thead', null, head), el('tbody', null, rows)]);
}

function attemptsTable(attempts: Attempt[]): HTMLElement {
  if (attempts.length === 0) return el('p', { className: 'hint', text: 'No attempt has run yet.' });
  const head = el('tr', null, ['Run', '#', 'Outcome', 'Started', 'Finished', 'Duration', 'Error'].map((h) => el('th', { scope: 'col', text: h })));
  const rows = attempts.map((a) => {
    const finished = new Date(Date.parse(a.startedAt) + a.durationMs).toISOString();
    return el('tr', null, [
      el('td', { className: 'num', text: String(a.run) }),
      el('td', { className: 'num', text: String(a.attempt) }),
      el('td', { text: a.outcome }),
      el('td', { title: a.startedAt, text: fmtTime(a.startedAt) }),
      el('td', { title: finished, text: fmtTime(finished) }),
      el('td', { className: 'num', text: fmtDuration(a.durationMs) }),
      el('td', { className: a.error ? 'error-text' : '', text: a.error ? `${a.error.type}: ${a.error.message}` : '—' }),
    ]);
  });
  return el('table', { id: 'detail-attempts' }, [el('caption', { className: 'visually-hidden', text: 'Attempts, oldest first' }), el('thead', null, head), el('tbody', null, rows)]);
}

async function act(kind: 'cancel' | 'retry'): Promise<void> {
  const open = state.detail;
  if (!open) return;
  const button = $<HTMLButtonElement>(kind === 'cancel' ? 'detail-cancel' : 'detail-retry');
  button.disabled = true;
  try {
    const cancelled = kind === 'cancel' ? await tasksApi.cancel(open.taskId) : undefined;
    if (kind === 'retry') await tasksApi.retry(open.taskId);
    setDetailMessage(
      kind === 'retry' ? 'Retry requested: the task is queued again.' : cancelled?.status === 'RUNNING' ? 'Cancel requested: the task stops within a few seconds.' : 'Task cancelled.',
    );
    // The button may now hide: keep focus inside the dialog, on its title.
    $('detail-title').focus();
    open.updatedAt = null;
    await hooks.guarded(() => Promise.all([loadDetail(false), hooks.refreshAround()]));
  } catch (e) {
    if (statusOf(e) === 401) return hooks.signOut('The API key is no longer accepted. Enter it again.');
    setDetailMessage(`${kind === 'cancel' ? 'Could not cancel: ' : 'Could not retry: '}${messageOf(e)}`);
  } finally {
    button.disabled = false;
  }
}

export function wireDetail(detailHooks: DetailHooks): void {
  hooks = detailHooks;
  const dialog = $<HTMLDialogElement>('detail');
  $('detail-close').addEventListener('click', () => dialog.close());
  $('detail-cancel').addEventListener('click', () => void act('cancel'));
  $('detail-retry').addEventListener('click', () => void act('retry'));
  dialog.addEventListener('close', () => {
    const open = state.detail;
    state.detail = null;
    if (!open) return;
    // The row may have been redrawn while the dialog was open: find its button again.
    const back = document.querySelector<HTMLElement>(`#task-rows [data-task-id="${CSS.escape(open.taskId)}"] button`);
    const opener = open.opener instanceof HTMLElement && document.contains(open.opener) ? open.opener : null;
    (back ?? opener ?? $('tasks-heading')).focus();
  });
}
