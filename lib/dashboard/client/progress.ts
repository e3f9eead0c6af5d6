/**
 * A task's progress (ctx.progress): a bar when the value says how far it is
 * (a percentage, or {done, total}), with its message if it has one, and the
 * value as JSON otherwise.
 */
import { el, fmtJson, fmtTime } from './dom';

/** How far a progress value says the task is, 0 to 100, if it says so: a number (a percentage) or {done, total}. */
export function percentOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return clamp(value);
  if (value && typeof value === 'object') {
    const { done, total } = value as { done?: unknown; total?: unknown };
    if (typeof done === 'number' && typeof total === 'number' && Number.isFinite(done) && total > 0) return clamp((done / total) * 100);
  }
  return undefined;
}

function clamp(percent: number): number {
  return Math.round(Math.min(100, Math.max(0, percent)));
}

export function progressView(value: unknown, at: string | null): HTMLElement {
  const percent = percentOf(value);
  const message = value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string' ? (value as { message: string }).message : '';
  const when = at ? `, ${fmtTime(at)}` : '';
  if (percent === undefined) {
    return el('div', null, [el('pre', { id: 'detail-progress-value', tabindex: '0', 'aria-label': 'Progress', text: fmtJson(value) }), el('p', { className: 'hint', text: `Reported${when}` })]);
  }
  return el('div', { className: 'progress' }, [
    el('progress', { id: 'detail-progress', max: '100', value: String(percent), 'aria-label': 'Progress' }, `${percent}%`),
    el('span', { id: 'detail-progress-text', text: `${percent}%${message ? ` — ${message}` : ''}` }),
    el('p', { className: 'hint', text: `Reported${when}` }),
  ]);
}
