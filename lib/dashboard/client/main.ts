/**
 * Key entry, live updates and start-up: the page's entry point, which wires
 * the list and the detail to each other. Polling (not a socket) because the
 * API is a Lambda behind API Gateway: plain GETs are all it serves, and they
 * cost nothing while the tab is hidden (they are skipped then).
 */
import { forgetKey, messageOf, statusOf, storedKey, storeKey, tasksApi, withKey } from './api';
import { renderStats } from './chart';
import { loadDetail, openDetail, wireDetail } from './detail';
import { $, setText } from './dom';
import { loadList, readFilters, statuses, toggleStatusFilter, wireList } from './list';
import { loadSchedules, wireSchedules } from './schedules';
import { state } from './state';
import type { Stats } from './types';

const POLL_MS = 5000;
/** The figures change by the minute: every third poll is enough. */
const STATS_EVERY = 3;

function showStats(stats: Stats): void {
  renderStats(stats, statuses(), state.filter.status, toggleStatusFilter);
}

async function loadStats(): Promise<void> {
  showStats(await tasksApi.stats());
}

/** Runs an API step; a refused key goes back to key entry, other failures show in the banner. */
async function guarded(step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
    showBanner('');
  } catch (e) {
    if (statusOf(e) === 401) signOut('The API key is no longer accepted. Enter it again.');
    else showBanner(messageOf(e) || 'Something went wrong.');
  }
}

/** One refresh at a time: a slow API must not pile up overlapping polls. A poll skips the figures two times in three. */
function refresh(isPoll = false): Promise<void> {
  if (!state.refreshing) {
    const withStats = !isPoll || state.polls++ % STATS_EVERY === 0;
    state.refreshing = guarded(() => Promise.all([withStats ? loadStats() : null, withStats ? loadSchedules() : null, loadList(), state.detail ? loadDetail(false) : null])).finally(() => {
      state.refreshing = null;
    });
  }
  return state.refreshing;
}

function schedule(): void {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    if ($<HTMLInputElement>('live').checked && !document.hidden && storedKey()) await refresh(true);
    if (storedKey()) schedule();
  }, POLL_MS);
}

function showBanner(text: string): void {
  const banner = $('banner');
  setText(banner, text);
  banner.hidden = !text;
}

function showApp(on: boolean): void {
  $('login').hidden = on;
  $('app').hidden = !on;
  $('live-label').hidden = !on;
  $('refresh').hidden = !on;
  $('sign-out').hidden = !on;
}

/** /stats both proves the key and fills the top of the page. */
async function signIn(key: string): Promise<void> {
  const stats: Stats = await withKey(key).stats();
  storeKey(key);
  showApp(true);
  readFilters();
  showStats(stats);
  await guarded(() => Promise.all([loadList(), loadSchedules()]));
  schedule();
}

function signOut(message: string): void {
  clearTimeout(state.timer);
  forgetKey();
  const dialog = $<HTMLDialogElement>('detail');
  if (dialog.open) dialog.close();
  showBanner('');
  showApp(false);
  setText($('key-error'), message || '');
  $('api-key').focus();
}

/** The key form: a key the API accepts opens the page. */
async function submitKey(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const input = $<HTMLInputElement>('api-key');
  const key = input.value.trim();
  if (!key) {
    setText($('key-error'), 'Enter an API key.');
    return;
  }
  setText($('key-error'), '');
  try {
    await signIn(key);
    input.value = '';
    $('tasks-heading').focus();
  } catch (e) {
    setText($('key-error'), statusOf(e) === 401 ? 'That key was not accepted.' : `Could not sign in: ${messageOf(e)}`);
  }
}

function wireMain(): void {
  $('key-form').addEventListener('submit', (event) => void submitKey(event as SubmitEvent));
  $('refresh').addEventListener('click', () => void refresh());
  $('sign-out').addEventListener('click', () => signOut(''));
  $('live').addEventListener('change', () => {
    if ($<HTMLInputElement>('live').checked && storedKey()) void refresh();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && $<HTMLInputElement>('live').checked && storedKey()) void refresh();
  });
}

wireMain();
wireList({ guarded, openDetail: (taskId) => void openDetail(taskId) });
wireSchedules({ guarded });
wireDetail({ guarded, refreshAround: () => Promise.all([loadStats(), loadList()]), signOut });
const saved = storedKey();
if (saved) {
  signIn(saved).catch((e: unknown) => {
    signOut(statusOf(e) === 401 ? 'The saved API key is no longer accepted.' : `Could not reach the API: ${messageOf(e)}`);
  });
} else {
  $('api-key').focus();
}
