/** The dashboard's stylesheet, served as /dashboard/app.css (style-src 'self': no inline style anywhere). */
export const STYLE_CSS = String.raw`
:root {
  --bg: #f5f6f8; --card: #fff; --text: #1b1f24; --muted: #57606a; --line: #d0d7de;
  --accent: #0b5cad; --focus: #ff9d00;
  --scheduled: #2f6f7e; --pending: #5b6470; --running: #0b5cad; --retrying: #8a5a00; --succeeded: #1a7f37; --failed: #c4182b; --cancelled: #6e4fa3;
  color-scheme: light dark;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --card: #171b21; --text: #e6e8eb; --muted: #9aa4ae; --line: #2d333b; --accent: #6cb6ff;
    --scheduled: #5fc3d6; --pending: #9aa4ae; --running: #6cb6ff; --retrying: #e3b341; --succeeded: #57c26b; --failed: #ff7b86; --cancelled: #b69cf0;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
main { max-width: 1200px; margin: 0 auto; padding: 0 16px 32px; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 8px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.86rem; }
.hint { color: var(--muted); margin: 4px 0 8px; min-height: 1.2em; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip-link { position: absolute; left: 8px; top: -40px; background: var(--card); padding: 6px 10px; z-index: 10; }
.skip-link:focus { top: 8px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

.top { display: flex; align-items: center; justify-content: space-between; gap: 12px; flex-wrap: wrap;
  max-width: 1200px; margin: 0 auto; padding: 16px; }
.top-actions { display: flex; gap: 8px; align-items: center; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.banner { max-width: 1168px; margin: 0 auto 12px; padding: 10px 14px; border-radius: 6px; border: 1px solid var(--failed); color: var(--failed); background: var(--card); }
.login { max-width: 520px; margin: 40px auto; }
.login form { display: grid; gap: 8px; }
.field-error { color: var(--failed); min-height: 1.2em; margin: 0; }

button, input, select { font: inherit; color: inherit; }
button { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 5px 12px; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: 0.5; cursor: default; }
button[type=submit], .primary { background: var(--accent); border-color: var(--accent); color: #fff; }
input, select { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; }
.check { display: inline-flex; gap: 6px; align-items: center; }

.counts { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
.count { width: 100%; text-align: left; display: flex; flex-direction: column; padding: 8px 12px; border-left: 5px solid var(--muted); }
.count[aria-pressed=true] { background: var(--bg); border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
.count-value { font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.count-label { color: var(--muted); font-size: 0.8rem; letter-spacing: 0.04em; }
.count-note { color: var(--muted); font-size: 0.75rem; }
.count.s-SCHEDULED { border-left-color: var(--scheduled); } .count.s-PENDING { border-left-color: var(--pending); } .count.s-RUNNING { border-left-color: var(--running); }
.count.s-RETRYING { border-left-color: var(--retrying); } .count.s-SUCCEEDED { border-left-color: var(--succeeded); }
.count.s-FAILED { border-left-color: var(--failed); } .count.s-CANCELLED { border-left-color: var(--cancelled); }

.chart svg { width: 100%; height: 150px; display: block; }
.chart .bar-succeeded { fill: var(--succeeded); } .chart .bar-failed { fill: var(--failed); }
.chart .axis { stroke: var(--line); } .chart text { fill: var(--muted); font-size: 11px; }
.chart-data table { margin-top: 6px; }

.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin-bottom: 4px; }
.field { display: grid; gap: 2px; }
.field label { font-size: 0.85rem; color: var(--muted); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.8rem; color: var(--muted); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; }
.task-link { background: none; border: none; padding: 0; color: var(--accent); text-decoration: underline; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85rem; }
.status { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.78rem; font-weight: 600; border: 1px solid currentColor; }
.status.s-SCHEDULED, .status.s-WAITING { color: var(--scheduled); } .status.s-PENDING { color: var(--pending); } .status.s-RUNNING { color: var(--running); } .status.s-RETRYING { color: var(--retrying); }
.status.s-SUCCEEDED { color: var(--succeeded); } .status.s-FAILED { color: var(--failed); } .status.s-CANCELLED { color: var(--cancelled); }
.pager { display: flex; gap: 12px; align-items: center; justify-content: flex-end; margin-top: 10px; }
.empty { color: var(--muted); text-align: center; padding: 20px; }

.detail { width: min(900px, 96vw); max-height: 90vh; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; background: var(--card); color: var(--text); }
.detail::backdrop { background: rgba(0, 0, 0, 0.45); }
.detail-head { display: flex; justify-content: space-between; align-items: center; gap: 12px; }
.detail-head h2 { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1rem; word-break: break-all; }
.detail-actions { display: flex; gap: 8px; margin: 4px 0 8px; }
.detail-message { min-height: 1.2em; margin: 4px 0; color: var(--muted); }
.detail dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
.detail dt { color: var(--muted); } .detail dd { margin: 0; word-break: break-word; }
.detail pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; max-height: 260px; white-space: pre-wrap; word-break: break-word; }
.detail h3 { font-size: 0.95rem; margin: 14px 0 6px; }
.progress { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; } .progress progress { width: 100%; max-width: 320px; height: 14px; } .progress .hint { flex-basis: 100%; margin: 0; }
.error-text { color: var(--failed); white-space: pre-wrap; word-break: break-word; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
.run-at { display: block; font-size: 0.78rem; color: var(--muted); }
.schedules td.paused { color: var(--retrying); font-weight: 600; }
`;
