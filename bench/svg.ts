/** A small horizontal bar chart, as plain SVG (no chart library for a dozen bars). */
export interface Bar {
  label: string;
  value: number;
  /** Drawn as a dashed line across the bar, e.g. the goal. */
  marker?: number;
  unit: string;
}

export function barChart(title: string, groups: Array<{ heading: string; bars: Bar[] }>): string {
  const width = 760;
  const labelWidth = 300;
  const barArea = width - labelWidth - 90;
  const rowHeight = 26;
  const rows = groups.reduce((n, g) => n + g.bars.length + 1, 0);
  const height = 50 + rows * rowHeight;
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="28" font-size="16" font-weight="600">${esc(title)}</text>`,
  ];
  let y = 50;
  for (const group of groups) {
    parts.push(`<text x="16" y="${y + 16}" font-weight="600" fill="#333">${esc(group.heading)}</text>`);
    y += rowHeight;
    const max = Math.max(...group.bars.map((b) => Math.max(b.value, b.marker ?? 0))) || 1;
    for (const bar of group.bars) {
      const w = Math.max(1, (bar.value / max) * barArea);
      parts.push(`<text x="24" y="${y + 16}" fill="#333">${esc(bar.label)}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="16" fill="#3b7dd8" rx="2"/>`);
      parts.push(`<text x="${labelWidth + w + 6}" y="${y + 16}" fill="#111">${esc(`${bar.value}${bar.unit}`)}</text>`);
      if (bar.marker !== undefined) {
        const x = labelWidth + (bar.marker / max) * barArea;
        parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y + 1}" y2="${y + 23}" stroke="#d33" stroke-dasharray="3,2"/>`);
      }
      y += rowHeight;
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}
