/**
 * The figures per status and the throughput chart. The chart is SVG built
 * with createElementNS (no library, nothing inline for the CSP to refuse);
 * the same numbers are in a table for screen readers.
 */
import { $, el, fmtClock, setText, svgEl } from './dom';
import type { Stats } from './types';

const CHART = { width: 720, height: 150, left: 34, right: 8, top: 10, bottom: 22 };

/**
 * What each status button shows: runs that ended in the window, from the
 * counters; for the waiting and running ones, the queues' depth as SQS
 * estimates it, in messages (a task waiting to retry is a message in flight).
 */
function figureOf(stats: Stats, status: string): { n: string; note: string; title: string } {
  const { queues, totals } = stats;
  const window = `in the last ${stats.windowMinutes} min`;
  switch (status) {
    case 'SCHEDULED':
      return { n: '', note: 'waiting for their time', title: 'Tasks waiting for their runAt' };
    case 'PENDING':
      return { n: String(queues.waiting), note: 'waiting (≈)', title: `About ${queues.waiting} messages waiting to run, as SQS estimates` };
    case 'RUNNING':
      return { n: String(queues.inFlight), note: 'in flight (≈)', title: `About ${queues.inFlight} messages in flight: running, or waiting to retry` };
    case 'RETRYING':
      return { n: '', note: 'counted in flight', title: 'Tasks waiting to retry are among the messages in flight' };
    default: {
      const n = totals[status.toLowerCase() as keyof Stats['totals']] ?? 0;
      return { n: String(n), note: `${stats.windowMinutes} min`, title: `${n} tasks ended ${status} ${window}` };
    }
  }
}

/** Builds the status buttons once, then only updates them, so keyboard focus survives polling. */
function renderCounts(stats: Stats, statuses: string[], selected: string, onSelect: (status: string) => void): void {
  const list = $('counts');
  if (list.children.length === 0) {
    for (const status of statuses) {
      const button = el('button', { type: 'button', className: `count s-${status}`, 'data-status': status, 'aria-pressed': 'false' }, [
        el('span', { className: 'count-value', text: '0' }),
        el('span', { className: 'count-label', text: status }),
        el('span', { className: 'count-note', text: '' }),
      ]);
      button.addEventListener('click', () => onSelect(status));
      list.appendChild(el('li', null, button));
    }
  }
  list.querySelectorAll('button[data-status]').forEach((button) => {
    const status = button.getAttribute('data-status')!;
    const figure = figureOf(stats, status);
    setText(button.querySelector('.count-value'), figure.n);
    setText(button.querySelector('.count-note'), figure.note);
    button.setAttribute('aria-pressed', String(selected === status));
    // The visible "5 SUCCEEDED 60 min" is the accessible name; aria-pressed says whether it filters the list.
    button.setAttribute('title', `${figure.title}; choose to list ${status} tasks`);
  });
}

function renderChart(stats: Stats): void {
  const buckets = stats.throughput ?? [];
  let succeeded = 0;
  let failed = 0;
  let peak = 1;
  for (const b of buckets) {
    succeeded += b.succeeded;
    failed += b.failed;
    peak = Math.max(peak, b.succeeded + b.failed);
  }
  // Drawn at the box's own width, so bars and labels keep their size on any screen.
  CHART.width = Math.max(320, Math.round($('chart').clientWidth) || 720);
  const plotW = CHART.width - CHART.left - CHART.right;
  const plotH = CHART.height - CHART.top - CHART.bottom;
  const base = CHART.top + plotH;
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, slot - 2);
  const svg = svgEl('svg', { viewBox: `0 0 ${CHART.width} ${CHART.height}`, role: 'img', 'aria-labelledby': 'chart-summary', focusable: 'false' });
  svg.appendChild(svgEl('line', { className: 'axis', x1: CHART.left, y1: base, x2: CHART.width - CHART.right, y2: base }));
  svg.appendChild(svgEl('line', { className: 'axis', x1: CHART.left, y1: CHART.top, x2: CHART.left, y2: base }));
  svg.appendChild(svgEl('text', { x: CHART.left - 4, y: CHART.top + 9, 'text-anchor': 'end', text: String(peak) }));
  svg.appendChild(svgEl('text', { x: CHART.left - 4, y: base, 'text-anchor': 'end', text: '0' }));
  buckets.forEach((b, i) => {
    if (b.succeeded + b.failed === 0) return;
    const x = CHART.left + i * slot + 1;
    const hs = (b.succeeded / peak) * plotH;
    const hf = (b.failed / peak) * plotH;
    const group = svgEl('g', null, svgEl('title', { text: `${fmtClock(b.minute)}: ${b.succeeded} succeeded, ${b.failed} failed` }));
    if (b.succeeded > 0) group.appendChild(svgEl('rect', { className: 'bar-succeeded', x, y: base - hs, width: barW, height: hs }));
    if (b.failed > 0) group.appendChild(svgEl('rect', { className: 'bar-failed', x, y: base - hs - hf, width: barW, height: hf }));
    svg.appendChild(group);
  });
  if (buckets.length > 0) {
    svg.appendChild(svgEl('text', { x: CHART.left, y: CHART.height - 6, text: fmtClock(buckets[0]!.minute) }));
    svg.appendChild(svgEl('text', { x: CHART.width - CHART.right, y: CHART.height - 6, 'text-anchor': 'end', text: fmtClock(buckets[buckets.length - 1]!.minute) }));
  }
  $('chart').replaceChildren(svg);
  setText(
    $('chart-summary'),
    `${succeeded} succeeded and ${failed} failed in the last ${stats.windowMinutes || buckets.length} minutes; green bars succeeded, red bars failed, one bar per minute.`,
  );
  const rows = buckets
    .filter((b) => b.succeeded + b.failed > 0)
    .reverse()
    .map((b) => el('tr', null, [el('td', { text: fmtClock(b.minute), title: b.minute }), el('td', { className: 'num', text: String(b.succeeded) }), el('td', { className: 'num', text: String(b.failed) })]));
  $('chart-rows').replaceChildren(...(rows.length ? rows : [el('tr', null, el('td', { colspan: 3, className: 'empty', text: 'No task finished in this window.' }))]));
}

/** The top of the page: the status buttons (which filter the list) and the chart. */
export function renderStats(stats: Stats, statuses: string[], selected: string, onSelect: (status: string) => void): void {
  renderCounts(stats, statuses, selected, onSelect);
  renderChart(stats);
}
