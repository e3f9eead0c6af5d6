/**
 * Client part 6 of 6: key entry, live updates and start-up. Polling (not a
 * socket) because the API is a Lambda behind API Gateway: plain GETs are all it
 * serves, and they cost nothing while the tab is hidden (we skip them then).
 */
export const MAIN_JS = String.raw`
const POLL_MS = 5000;
/** Counts read the status index, which costs more than a page of tasks: every third poll is enough. */
const STATS_EVERY = 3;

const state = {
  filter: { status: '', name: '', limit: 20 },
  cursor: undefined,
  previous: [],
  nextCursor: null,
  detail: null,
  timer: null,
  refreshing: null,
  polls: 0,
  listSeq: 0,
};

async function loadStats() {
  renderStats(await api('GET', '/stats'));
}

/** Runs an API step; a refused key goes back to key entry, other failures show in the banner. */
async function guarded(step) {
  try {
    await step();
    showBanner('');
  } catch (e) {
    if (e.status === 401) signOut('The API key is no longer accepted. Enter it again.');
    else showBanner(e.message || 'Something went wrong.');
  }
}

/** One refresh at a time: a slow API must not pile up overlapping polls. A poll skips the counts two times in three. */
function refresh(isPoll) {
  if (!state.refreshing) {
    const withStats = !isPoll || state.polls++ % STATS_EVERY === 0;
    state.refreshing = guarded(function () {
      return Promise.all([withStats ? loadStats() : null, loadList(), state.detail ? loadDetail(false) : null]);
    }).finally(function () {
      state.refreshing = null;
    });
  }
  return state.refreshing;
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async function () {
    if ($('live').checked && !document.hidden && storedKey()) await refresh(true);
    if (storedKey()) schedule();
  }, POLL_MS);
}

function showBanner(text) {
  const banner = $('banner');
  setText(banner, text);
  banner.hidden = !text;
}

function showApp(on) {
  $('login').hidden = on;
  $('app').hidden = !on;
  $('live-label').hidden = !on;
  $('refresh').hidden = !on;
  $('sign-out').hidden = !on;
}

/** /stats both proves the key and fills the top of the page. */
async function signIn(key) {
  const stats = await api('GET', '/stats', null, key);
  storeKey(key);
  showApp(true);
  renderStats(stats);
  readFilters();
  await guarded(loadList);
  schedule();
}

function signOut(message) {
  clearTimeout(state.timer);
  forgetKey();
  if ($('detail').open) $('detail').close();
  showBanner('');
  showApp(false);
  setText($('key-error'), message || '');
  $('api-key').focus();
}

function wireMain() {
  $('key-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) {
      setText($('key-error'), 'Enter an API key.');
      return;
    }
    setText($('key-error'), '');
    try {
      await signIn(key);
      $('api-key').value = '';
      $('tasks-heading').focus();
    } catch (e) {
      setText($('key-error'), e.status === 401 ? 'That key was not accepted.' : 'Could not sign in: ' + e.message);
    }
  });
  $('refresh').addEventListener('click', function () {
    void refresh();
  });
  $('sign-out').addEventListener('click', function () {
    signOut('');
  });
  $('live').addEventListener('change', function () {
    if ($('live').checked && storedKey()) void refresh();
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && $('live').checked && storedKey()) void refresh();
  });
}

wireMain();
wireList();
wireDetail();
const saved = storedKey();
if (saved) {
  signIn(saved).catch(function (e) {
    signOut(e.status === 401 ? 'The saved API key is no longer accepted.' : 'Could not reach the API: ' + e.message);
  });
} else {
  $('api-key').focus();
}
`;
