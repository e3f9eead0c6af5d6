/**
 * The task list, its filters and its pages. Pages follow the API's opaque
 * cursors; "Newer" goes back through the cursors already seen.
 */
import { tasksApi } from './api';
import { $, el, fmtDuration, fmtTime, setText, statusBadge } from './dom';
import { state } from './state';
import type { ListQuery } from '../../client';
import type { Page, TaskSummary } from './types';

/** What the list needs from the rest of the page. */
export interface ListHooks {
  /** Runs a step, showing what went wrong. */
  guarded(step: () => Promise<unknown>): Promise<void>;
  openDetail(taskId: string): void;
}

let hooks: ListHooks;

/** The statuses the filter offers, in the page's order. */
export function statuses(): string[] {
  return Array.from(document.querySelectorAll<HTMLOptionElement>('#filter-status option'))
    .map((o) => o.value)
    .filter(Boolean);
}

export function readFilters(): void {
  state.filter = {
    status: $<HTMLSelectElement>('filter-status').value,
    name: $<HTMLInputElement>('filter-name').value.trim(),
    limit: Number($<HTMLSelectElement>('page-size').value) || 20,
  };
  state.cursor = undefined;
  state.previous = [];
}

async function applyFilters(): Promise<void> {
  readFilters();
  document.querySelectorAll('#counts button[data-status]').forEach((button) => {
    button.setAttribute('aria-pressed', String(button.getAttribute('data-status') === state.filter.status));
  });
  await hooks.guarded(loadList);
}

export function toggleStatusFilter(status: string): void {
  $<HTMLSelectElement>('filter-status').value = state.filter.status === status ? '' : status;
  void applyFilters();
}

export async function loadList(): Promise<void> {
  // A poll and a filter change can overlap: only the newest request may draw.
  const seq = ++state.listSeq;
  const { status, name, limit } = state.filter;
  const page: Page = await tasksApi.list({ status: (status || undefined) as ListQuery['status'], name: name || undefined, limit, cursor: state.cursor });
  if (seq !== state.listSeq) return;
  state.nextCursor = page.nextCursor;
  renderRows(page.items);
  renderPager(page.items.length);
}

function renderRows(items: TaskSummary[]): void {
  const active = document.activeElement;
  const focusedId = active?.getAttribute('data-task-id');
  const body = $('task-rows');
  if (items.length === 0) {
    // A filtered page can be empty and still have more after it: say so.
    const text = state.nextCursor ? 'No match among the tasks looked at; Older looks further.' : 'No tasks match these filters.';
    body.replaceChildren(el('tr', null, el('td', { colspan: 6, className: 'empty', text })));
    return;
  }
  body.replaceChildren(...items.map(taskRow));
  if (focusedId) {
    const again = body.querySelector<HTMLElement>(`[data-task-id="${CSS.escape(focusedId)}"]`);
    again?.focus();
  }
}

function taskRow(t: TaskSummary): HTMLTableRowElement {
  const open = el('button', { type: 'button', className: 'task-link', 'data-task-id': t.taskId, 'aria-haspopup': 'dialog', text: t.taskId });
  open.setAttribute('aria-label', `Open task ${t.taskId}, ${t.name}, ${t.status}`);
  open.addEventListener('click', () => hooks.openDetail(t.taskId));
  return el('tr', { 'data-task-id': t.taskId, 'data-status': t.status }, [
    el('td', null, open),
    el('td', { className: 'task-name', text: t.name }),
    el('td', null, [statusBadge(t.status), t.status === 'SCHEDULED' && t.runAt ? el('span', { className: 'run-at', title: t.runAt, text: `runs ${fmtTime(t.runAt)}` }) : null]),
    el('td', { className: 'num', text: `${t.attempts} / ${t.maxAttempts}` }),
    el('td', { title: t.createdAt, text: fmtTime(t.createdAt) }),
    el('td', { className: 'num', text: fmtDuration(t.durationMs) }),
  ]);
}

function renderPager(count: number): void {
  const pageNo = state.previous.length + 1;
  $<HTMLButtonElement>('page-prev').disabled = state.previous.length === 0;
  $<HTMLButtonElement>('page-next').disabled = !state.nextCursor;
  setText($('page-label'), `Page ${pageNo}`);
  const filters: string[] = [];
  if (state.filter.status) filters.push(`status ${state.filter.status}`);
  if (state.filter.name) filters.push(`name "${state.filter.name}"`);
  setText($('list-status'), `${count}${count === 1 ? ' task' : ' tasks'} on page ${pageNo}${filters.length ? `, filtered by ${filters.join(' and ')}` : ''}.`);
}

async function pageTo(direction: 'next' | 'prev'): Promise<void> {
  if (direction === 'next' && state.nextCursor) {
    state.previous.push(state.cursor);
    state.cursor = state.nextCursor;
  } else if (direction === 'prev' && state.previous.length > 0) {
    state.cursor = state.previous.pop();
  }
  await hooks.guarded(loadList);
}

export function wireList(listHooks: ListHooks): void {
  hooks = listHooks;
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    void applyFilters();
  });
  // A status or page size takes effect at once; the name waits for Enter or Apply.
  $('filter-status').addEventListener('change', () => void applyFilters());
  $('page-size').addEventListener('change', () => void applyFilters());
  $('clear-filters').addEventListener('click', () => {
    $<HTMLSelectElement>('filter-status').value = '';
    $<HTMLInputElement>('filter-name').value = '';
    void applyFilters();
  });
  $('page-prev').addEventListener('click', () => void pageTo('prev'));
  $('page-next').addEventListener('click', () => void pageTo('next'));
}
