/**
 * Client part 5 of 6: one task's detail in a modal <dialog> (focus is trapped
 * and Escape closes it, natively), with cancel and retry through the JSON API.
 */
export const DETAIL_JS = String.raw`
const CANCELLABLE = ['PENDING', 'RETRYING'];
const RETRYABLE = ['FAILED', 'CANCELLED'];

async function openDetail(taskId) {
  state.detail = { taskId: taskId, opener: document.activeElement, updatedAt: null };
  setText($('detail-title'), 'Task ' + taskId);
  setDetailMessage('Loading…');
  $('detail-body').replaceChildren();
  $('detail-cancel').hidden = true;
  $('detail-retry').hidden = true;
  const dialog = $('detail');
  if (!dialog.open) dialog.showModal();
  await loadDetail(true);
}

/** Re-reads the open task; skips the redraw when nothing changed, so polling does not reset scroll. */
async function loadDetail(clearMessage) {
  const open = state.detail;
  if (!open) return;
  try {
    const task = await api('GET', taskPath(open.taskId));
    if (state.detail !== open) return;
    if (clearMessage) setDetailMessage('');
    if (task.updatedAt === open.updatedAt) return;
    open.updatedAt = task.updatedAt;
    renderDetail(task);
  } catch (e) {
    if (state.detail !== open) return;
    if (e.status === 401) throw e;
    setDetailMessage(e.status === 404 ? 'This task no longer exists.' : 'Could not load the task: ' + e.message);
  }
}

function setDetailMessage(text) {
  setText($('detail-message'), text);
}

function field(label, value) {
  return [el('dt', { text: label }), el('dd', null, value)];
}

function renderDetail(t) {
  const facts = el('dl', null, [
    field('Name', t.name),
    field('Status', statusBadge(t.status)),
    field('Priority', t.priority),
    field('Attempts', t.attempts + ' of ' + t.maxAttempts),
    field('Timeout', t.timeoutSeconds + ' s'),
    field('Created', fmtTime(t.createdAt)),
    field('Started', fmtTime(t.startedAt)),
    field('Finished', fmtTime(t.finishedAt)),
    field('Last attempt took', fmtDuration(t.durationMs)),
    field('Updated', fmtTime(t.updatedAt)),
  ].flat());
  const parts = [facts];
  if (t.error) {
    parts.push(el('h3', { text: 'Error' }), el('p', { className: 'error-text', id: 'detail-error', text: t.error.type + ': ' + t.error.message }));
  }
  parts.push(el('h3', { text: 'Payload' }), el('pre', { id: 'detail-payload', tabindex: '0', 'aria-label': 'Payload', text: fmtJson(t.payload) }));
  parts.push(el('h3', { text: 'Result' }), el('pre', { id: 'detail-result', tabindex: '0', 'aria-label': 'Result', text: fmtJson(t.result) }));
  parts.push(el('h3', { text: 'Attempts' }), attemptsTable(t.attemptLog || []));
  $('detail-body').replaceChildren.apply($('detail-body'), parts);
  $('detail-cancel').hidden = CANCELLABLE.indexOf(t.status) < 0;
  $('detail-retry').hidden = RETRYABLE.indexOf(t.status) < 0;
}

function attemptsTable(attempts) {
  if (attempts.length === 0) return el('p', { className: 'hint', text: 'No attempt has run yet.' });
  const head = el('tr', null, ['#', 'Outcome', 'Started', 'Finished', 'Duration', 'Error'].map(function (h) {
    return el('th', { scope: 'col', text: h });
  }));
  const rows = attempts.map(function (a) {
    return el('tr', null, [
      el('td', { className: 'num', text: String(a.attempt) }),
      el('td', { text: a.outcome }),
      el('td', { title: a.startedAt, text: fmtTime(a.startedAt) }),
      el('td', { title: a.finishedAt, text: fmtTime(a.finishedAt) }),
      el('td', { className: 'num', text: fmtDuration(a.durationMs) }),
      el('td', { className: a.error ? 'error-text' : '', text: a.error ? a.error.type + ': ' + a.error.message : '—' }),
    ]);
  });
  return el('table', { id: 'detail-attempts' }, [el('caption', { className: 'visually-hidden', text: 'Attempts, oldest first' }), el('thead', null, head), el('tbody', null, rows)]);
}

async function act(kind) {
  const open = state.detail;
  if (!open) return;
  const button = $(kind === 'cancel' ? 'detail-cancel' : 'detail-retry');
  button.disabled = true;
  try {
    if (kind === 'cancel') await api('DELETE', taskPath(open.taskId));
    else await api('POST', taskPath(open.taskId) + '/retry');
    setDetailMessage(kind === 'cancel' ? 'Task cancelled.' : 'Retry requested: the task is queued again.');
    // The button may now hide: keep focus inside the dialog, on its title.
    $('detail-title').focus();
    open.updatedAt = null;
    await guarded(function () {
      return Promise.all([loadDetail(false), loadStats(), loadList()]);
    });
  } catch (e) {
    if (e.status === 401) return signOut('The API key is no longer accepted. Enter it again.');
    setDetailMessage((kind === 'cancel' ? 'Could not cancel: ' : 'Could not retry: ') + e.message);
  } finally {
    button.disabled = false;
  }
}

function wireDetail() {
  const dialog = $('detail');
  $('detail-close').addEventListener('click', function () {
    dialog.close();
  });
  $('detail-cancel').addEventListener('click', function () {
    void act('cancel');
  });
  $('detail-retry').addEventListener('click', function () {
    void act('retry');
  });
  dialog.addEventListener('close', function () {
    const open = state.detail;
    state.detail = null;
    if (!open) return;
    // The row may have been redrawn while the dialog was open: find its button again.
    const back = document.querySelector('#task-rows [data-task-id="' + CSS.escape(open.taskId) + '"] button');
    const target = back || (open.opener && document.contains(open.opener) ? open.opener : $('tasks-heading'));
    target.focus();
  });
}
`;
