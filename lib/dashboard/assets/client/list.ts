/**
 * Client part 4 of 6: the task list, its filters and its pages. Pages follow
 * the API's opaque cursors; "Newer" goes back through the cursors already seen.
 */
export const LIST_JS = String.raw`
const STATUSES = Array.from(document.querySelectorAll('#filter-status option'))
  .map(function (o) {
    return o.value;
  })
  .filter(Boolean);

function readFilters() {
  state.filter = {
    status: $('filter-status').value,
    name: $('filter-name').value.trim(),
    limit: Number($('page-size').value) || 20,
  };
  state.cursor = undefined;
  state.previous = [];
}

async function applyFilters() {
  readFilters();
  document.querySelectorAll('#counts button[data-status]').forEach(function (button) {
    button.setAttribute('aria-pressed', String(button.getAttribute('data-status') === state.filter.status));
  });
  await guarded(loadList);
}

function toggleStatusFilter(status) {
  $('filter-status').value = state.filter.status === status ? '' : status;
  void applyFilters();
}

async function loadList() {
  // A poll and a filter change can overlap: only the newest request may draw.
  const seq = ++state.listSeq;
  const page = await api('GET', '/tasks', { status: state.filter.status, name: state.filter.name, limit: state.filter.limit, cursor: state.cursor });
  if (seq !== state.listSeq) return;
  state.nextCursor = page.nextCursor;
  renderRows(page.items);
  renderPager(page.items.length);
}

function renderRows(items) {
  const active = document.activeElement;
  const focusedId = active && active.getAttribute ? active.getAttribute('data-task-id') : null;
  const body = $('task-rows');
  if (items.length === 0) {
    body.replaceChildren(el('tr', null, el('td', { colspan: 6, className: 'empty', text: 'No tasks match these filters.' })));
    return;
  }
  body.replaceChildren.apply(body, items.map(taskRow));
  if (focusedId) {
    const again = body.querySelector('[data-task-id="' + CSS.escape(focusedId) + '"]');
    if (again) again.focus();
  }
}

function taskRow(t) {
  const open = el('button', { type: 'button', className: 'task-link', 'data-task-id': t.taskId, 'aria-haspopup': 'dialog', text: t.taskId });
  open.setAttribute('aria-label', 'Open task ' + t.taskId + ', ' + t.name + ', ' + t.status);
  open.addEventListener('click', function () {
    void openDetail(t.taskId);
  });
  return el('tr', { 'data-task-id': t.taskId, 'data-status': t.status }, [
    el('td', null, open),
    el('td', { className: 'task-name', text: t.name }),
    el('td', null, statusBadge(t.status)),
    el('td', { className: 'num', text: t.attempts + ' / ' + t.maxAttempts }),
    el('td', { title: t.createdAt, text: fmtTime(t.createdAt) }),
    el('td', { className: 'num', text: fmtDuration(t.durationMs) }),
  ]);
}

function renderPager(count) {
  const pageNo = state.previous.length + 1;
  $('page-prev').disabled = state.previous.length === 0;
  $('page-next').disabled = !state.nextCursor;
  setText($('page-label'), 'Page ' + pageNo);
  const filters = [];
  if (state.filter.status) filters.push('status ' + state.filter.status);
  if (state.filter.name) filters.push('name "' + state.filter.name + '"');
  setText($('list-status'), count + (count === 1 ? ' task' : ' tasks') + ' on page ' + pageNo + (filters.length ? ', filtered by ' + filters.join(' and ') : '') + '.');
}

async function pageTo(direction) {
  if (direction === 'next' && state.nextCursor) {
    state.previous.push(state.cursor);
    state.cursor = state.nextCursor;
  } else if (direction === 'prev' && state.previous.length > 0) {
    state.cursor = state.previous.pop();
  }
  await guarded(loadList);
}

function wireList() {
  $('filters').addEventListener('submit', function (event) {
    event.preventDefault();
    void applyFilters();
  });
  // A status or page size takes effect at once; the name waits for Enter or Apply.
  $('filter-status').addEventListener('change', function () {
    void applyFilters();
  });
  $('page-size').addEventListener('change', function () {
    void applyFilters();
  });
  $('clear-filters').addEventListener('click', function () {
    $('filter-status').value = '';
    $('filter-name').value = '';
    void applyFilters();
  });
  $('page-prev').addEventListener('click', function () {
    void pageTo('prev');
  });
  $('page-next').addEventListener('click', function () {
    void pageTo('next');
  });
}
`;
