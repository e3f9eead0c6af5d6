import { TASK_STATUSES } from '../../types';

/** Paths of the page's two files; `?v=` carries a content hash so they can be cached for good. */
export interface AssetUrls {
  script: string;
  style: string;
}

const statusOptions = TASK_STATUSES.map((s) => `<option value="${s}">${s}</option>`).join('');

/**
 * The dashboard's HTML shell. It holds no data and no inline script or style:
 * everything dynamic is built by app.js with textContent.
 */
export function pageHtml(urls: AssetUrls): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Tasks dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${urls.style}">
<script src="${urls.script}" defer></script>
</head>
<body>
<a class="skip-link" href="#tasks-heading">Skip to tasks</a>
<header class="top">
  <h1>Background tasks</h1>
  <div class="top-actions">
    <label class="check" id="live-label" hidden><input type="checkbox" id="live" checked> Live updates</label>
    <button type="button" id="refresh" hidden>Refresh now</button>
    <button type="button" id="sign-out" hidden>Forget key</button>
  </div>
</header>
<p id="banner" class="banner" role="alert" hidden></p>
<main>
  <section id="login" class="card login" aria-labelledby="login-heading">
    <h2 id="login-heading">Enter your API key</h2>
    <p>The key is kept in this tab only (sessionStorage) and sent as <code>x-api-key</code> to this API.</p>
    <form id="key-form" novalidate>
      <label for="api-key">API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" required aria-describedby="key-error">
      <button type="submit">Open dashboard</button>
      <p id="key-error" class="field-error" role="alert"></p>
    </form>
  </section>

  <div id="app" hidden>
    <section class="card" aria-labelledby="counts-heading">
      <h2 id="counts-heading">Tasks by status</h2>
      <p class="hint">Finished in the last hour; waiting and in flight as SQS estimates them. Choose a status to filter the list.</p>
      <ul id="counts" class="counts"></ul>
    </section>

    <section class="card" aria-labelledby="chart-heading">
      <h2 id="chart-heading">Throughput, last hour</h2>
      <p id="chart-summary" class="hint"></p>
      <div id="chart" class="chart"></div>
      <details class="chart-data">
        <summary>Throughput as a table</summary>
        <table>
          <caption>Finished tasks per minute (minutes with none left out)</caption>
          <thead><tr><th scope="col">Minute</th><th scope="col">Succeeded</th><th scope="col">Failed</th></tr></thead>
          <tbody id="chart-rows"></tbody>
        </table>
      </details>
    </section>

    <section class="card" aria-labelledby="schedules-heading">
      <h2 id="schedules-heading">Schedules</h2>
      <p class="hint">Tasks that enqueue themselves on a cron or a rate, from their definitions. Next runs in this browser's time.</p>
      <div class="table-wrap">
        <table id="schedule-table" class="tasks schedules">
          <caption class="visually-hidden">Recurring schedules and their next runs</caption>
          <thead>
            <tr><th scope="col">Schedule</th><th scope="col">When</th><th scope="col">Next run</th><th scope="col">Last run</th><th scope="col">State</th></tr>
          </thead>
          <tbody id="schedule-rows"></tbody>
        </table>
      </div>
    </section>

    <section class="card" aria-labelledby="tasks-heading">
      <h2 id="tasks-heading" tabindex="-1">Recent tasks</h2>
      <form id="filters" class="filters" role="search" aria-label="Filter tasks" novalidate>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status"><option value="">All statuses</option>${statusOptions}</select>
        </div>
        <div class="field">
          <label for="filter-name">Task name (exact)</label>
          <input id="filter-name" type="search" autocomplete="off" spellcheck="false" maxlength="128" placeholder="e.g. write_log">
        </div>
        <div class="field">
          <label for="page-size">Per page</label>
          <select id="page-size"><option>10</option><option selected>20</option><option>50</option><option>100</option></select>
        </div>
        <button type="submit">Apply</button>
        <button type="button" id="clear-filters">Clear</button>
      </form>
      <p id="list-status" class="hint" role="status" aria-live="polite"></p>
      <div class="table-wrap">
        <table id="task-table" class="tasks">
          <caption class="visually-hidden">Tasks, newest first. Open a task for its detail.</caption>
          <thead>
            <tr><th scope="col">Task</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Duration</th></tr>
          </thead>
          <tbody id="task-rows"></tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages of tasks">
        <button type="button" id="page-prev" disabled>Newer</button>
        <span id="page-label">Page 1</span>
        <button type="button" id="page-next" disabled>Older</button>
      </nav>
    </section>
  </div>
</main>

<dialog id="detail" class="detail" aria-labelledby="detail-title">
  <div class="detail-head">
    <h2 id="detail-title" tabindex="-1">Task</h2>
    <button type="button" id="detail-close">Close</button>
  </div>
  <p id="detail-message" class="detail-message" role="status" aria-live="polite"></p>
  <div class="detail-actions">
    <button type="button" id="detail-cancel" hidden>Cancel task</button>
    <button type="button" id="detail-retry" hidden>Retry task</button>
  </div>
  <div id="detail-body"></div>
</dialog>
</body>
</html>
`;
}
