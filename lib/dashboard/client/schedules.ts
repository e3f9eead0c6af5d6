/**
 * The recurring schedules: when each runs next, what it did last, and a
 * button that pauses or resumes it (a flag the next tick reads: no deploy).
 */
import { messageOf, tasksApi } from './api';
import { $, el, fmtTime } from './dom';
import type { Schedule } from './types';

let guarded: (step: () => Promise<unknown>) => Promise<void>;

export async function loadSchedules(): Promise<void> {
  const { items } = (await tasksApi.schedules()) as { items: Schedule[] };
  const body = $('schedule-rows');
  if (items.length === 0) {
    body.replaceChildren(el('tr', null, el('td', { colspan: 5, className: 'empty', text: 'No task has a schedule.' })));
    return;
  }
  // Keep focus on a Pause/Resume button across the redraw that follows its click.
  const focused = document.activeElement?.getAttribute('data-schedule');
  body.replaceChildren(...items.map(scheduleRow));
  if (focused) body.querySelector<HTMLElement>(`button[data-schedule="${CSS.escape(focused)}"]`)?.focus();
}

function scheduleRow(s: Schedule): HTMLTableRowElement {
  const when = s.cron !== undefined ? `cron ${s.cron} (${s.timezone})` : `every ${s.every ?? ''}`;
  const toggle = el('button', { type: 'button', 'data-schedule': s.name, text: s.paused ? 'Resume' : 'Pause' });
  toggle.setAttribute('aria-label', `${s.paused ? 'Resume' : 'Pause'} schedule ${s.name}`);
  toggle.addEventListener('click', () => void setPaused(s.name, !s.paused));
  return el('tr', { 'data-schedule': s.name }, [
    el('td', { className: 'task-name', text: s.name }),
    el('td', { text: when }),
    el('td', { className: 'next-run', title: s.nextRunAt ?? '', text: s.paused ? 'paused' : fmtTime(s.nextRunAt) }),
    el('td', { title: s.lastRunAt ?? '', text: fmtTime(s.lastRunAt) }),
    el('td', { className: s.paused ? 'paused' : '' }, [s.paused ? 'Paused ' : 'Active ', toggle]),
  ]);
}

async function setPaused(name: string, paused: boolean): Promise<void> {
  await guarded(async () => {
    try {
      if (paused) await tasksApi.pauseSchedule(name);
      else await tasksApi.resumeSchedule(name);
    } catch (e) {
      throw new Error(`Could not ${paused ? 'pause' : 'resume'} ${name}: ${messageOf(e)}`);
    }
    await loadSchedules();
  });
}

export function wireSchedules(hooks: { guarded: typeof guarded }): void {
  guarded = hooks.guarded;
}
