import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApi } from '../support/api';
import { createDashboardHandler } from '../../lib/dashboard/handler';
import type { Engine } from '../../lib/engine';
import '../../lib/tasks';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runNextBatch, runUntilTerminal } from '../support/drive';
import { routeLikeApiGateway, serveLambda, type LambdaHttpServer } from '../support/httpServer';
import { expectErrorLogs } from '../support/logs';

/** Debian's Chromium (`apt-get install chromium`, as .ci/run does); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SKIP_REASON = `SKIPPED: no Chromium at ${CHROMIUM} (install it with "apt-get install chromium" or set CHROMIUM_PATH)`;
if (!hasChromium) console.warn(`test/browser/dashboard.test.ts ${SKIP_REASON}`);

const KEY = 'browser-test-key';
const OUTPUT = join(__dirname, '../../test-output');
const DOCS_SCREENSHOT = join(__dirname, '../../docs/dashboard.png');
const HTML_MESSAGE = '<img src=x id="injected-img"><b id="injected">not bold</b>';
const FAIL_MESSAGE = 'SMTP 550: mailbox <unknown@example.com> rejected';
/** The trace the failed task is enqueued in (no SDK here: the api carries the caller's trace all the same). */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

let aws: LocalAws;
let engine: Engine;
let server: LambdaHttpServer;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const ids: Record<'failed' | 'html' | 'scheduled', string> = { failed: '', html: '', scheduled: '' };

async function enqueue(name: string, payload: unknown, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${server.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY, ...headers },
    body: JSON.stringify({ name, payload, ...extra }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { taskId: string }).taskId;
}

const rows = () => page.locator('#task-rows tr[data-task-id]');
const row = (taskId: string) => page.locator(`#task-rows tr[data-task-id="${taskId}"]`);

/** The statuses of the listed rows, top to bottom. */
const rowStatuses = () => rows().evaluateAll((found) => found.map((r) => r.getAttribute('data-status')));

/** Waits (through poll-driven redraws) until the list shows `count` rows, all of `status` when given. */
async function waitForRows(count: number, status?: string): Promise<void> {
  await expect
    .poll(async () => {
      const statuses = await rowStatuses();
      return statuses.length === count && statuses.every((s) => status === undefined || s === status);
    }, { timeout: 10_000 })
    .toBe(true);
}

// CI must run this test: there (REQUIRE_BROWSER=1, set by .ci/run) a missing Chromium fails it instead of skipping it.
if (!hasChromium && process.env.REQUIRE_BROWSER === '1') {
  describe('the dashboard in Chromium', () => {
    it('has a Chromium to run in', () => {
      throw new Error(`${SKIP_REASON}; REQUIRE_BROWSER=1 does not allow skipping it`);
    });
  });
}

(hasChromium ? describe : describe.skip)(hasChromium ? 'the dashboard in Chromium' : `the dashboard in Chromium (${SKIP_REASON})`, () => {
  beforeAll(async () => {
    aws = await startLocalAws();
    engine = await createTestEngine(aws);
    server = await serveLambda(routeLikeApiGateway({ api: testApi(engine, [KEY]), dashboard: createDashboardHandler() }));

    const done = await Promise.all([
      enqueue('write_log', { message: 'Welcome email sent to ada@example.com' }),
      enqueue('write_log', { message: 'Invoice 1042 rendered' }),
      enqueue('write_log', { message: 'Notification sent to grace@example.com' }),
      enqueue('flaky', { failTimes: 1, key: 'webhook-7' }),
    ]);
    ids.html = await enqueue('write_log', { message: HTML_MESSAGE });
    ids.failed = await enqueue('fail', { message: FAIL_MESSAGE }, { maxAttempts: 1 }, { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` });
    await runUntilTerminal(engine, aws, [...done, ids.html, ids.failed]);
    ids.scheduled = await enqueue('sleep', { ms: 1000 }, { delaySeconds: 900 });

    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, colorScheme: 'light' });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await aws?.close();
  });

  it('asks for the key, refuses a wrong one, and opens with the right one', async () => {
    await page.goto(`${server.url}/dashboard`);
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#app').isVisible()).toBe(false);

    await page.getByLabel('API key', { exact: true }).fill('wrong-key');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await page.locator('#key-error', { hasText: 'That key was not accepted.' }).waitFor();
    // Chromium logs every 4xx fetch; this one was asked for, the rest must be clean.
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 401/.test(e)));

    await page.getByLabel('API key', { exact: true }).fill(KEY);
    await page.keyboard.press('Enter');
    await page.locator('#app').waitFor({ state: 'visible' });

    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.evaluate("[sessionStorage.getItem('tasks-dashboard.api-key'), localStorage.length]")).toEqual([KEY, 0]);
  });

  it('lists every task with its status, and the counts per status', async () => {
    await waitForRows(7);

    expect(await row(ids.failed).locator('.status').textContent()).toBe('FAILED');
    expect(await row(ids.scheduled).locator('.status').textContent()).toBe('SCHEDULED');
    // A SCHEDULED task shows when it runs (its runAt, in the browser's time).
    const runAt = (await engine.store.get(ids.scheduled))!.runAt!;
    expect(await row(ids.scheduled).locator('.run-at').getAttribute('title')).toBe(runAt);
    expect(await row(ids.scheduled).locator('.run-at').textContent()).toMatch(/^runs \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(await rows().locator('.status', { hasText: 'SUCCEEDED' }).count()).toBe(5);
    const count = (status: string) => page.locator(`#counts button[data-status="${status}"] .count-value`).textContent();
    // Finished in the last hour from the counters; waiting and in flight from SQS (the delayed task's message).
    expect([await count('SUCCEEDED'), await count('FAILED'), await count('PENDING'), await count('RUNNING')]).toEqual(['5', '1', '1', '0']);
  });

  it('shows each schedule with its next run, and pauses and resumes it', async () => {
    const scheduleRow = page.locator('#schedule-rows tr[data-schedule="daily_report"]');
    await scheduleRow.waitFor();
    const next = (await (await fetch(`${server.url}/schedules`, { headers: { 'x-api-key': KEY } })).json()) as { items: Array<{ nextRunAt: string }> };
    expect(await scheduleRow.locator('td').nth(1).textContent()).toBe('cron 0 9 * * MON-FRI (Europe/Paris)');
    expect(await scheduleRow.locator('.next-run').getAttribute('title')).toBe(next.items[0]!.nextRunAt);

    await page.getByRole('button', { name: 'Pause schedule daily_report' }).click();
    await scheduleRow.locator('.next-run', { hasText: 'paused' }).waitFor();
    expect(await page.evaluate("document.activeElement?.getAttribute('aria-label')")).toBe('Resume schedule daily_report');
    await page.keyboard.press('Enter');
    await scheduleRow.locator('button', { hasText: 'Pause' }).waitFor();
    expect(await scheduleRow.locator('.next-run').getAttribute('title')).toBe(next.items[0]!.nextRunAt);
  });

  it('draws the last hour of throughput with succeeded and failed bars', async () => {
    expect(await page.locator('#chart svg rect.bar-succeeded').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart svg rect.bar-failed').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-summary').textContent()).toMatch(/^5 succeeded and 1 failed in the last 60 minutes/);
  });

  it('filters by name and by status', async () => {
    await page.getByLabel('Task name (exact)').fill('flaky');
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitForRows(1, 'SUCCEEDED');

    await page.getByRole('button', { name: 'Clear' }).click();
    await waitForRows(7);
    await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
    await waitForRows(1, 'FAILED');

    expect(await rows().first().getAttribute('data-task-id')).toBe(ids.failed);
    expect(await page.locator('#counts button[data-status="FAILED"]').getAttribute('aria-pressed')).toBe('true');
  });

  it('opens a failed task and shows its error and attempts', async () => {
    await row(ids.failed).getByRole('button').click();
    await page.locator('#detail-error').waitFor();

    expect(await page.locator('#detail').getAttribute('open')).not.toBeNull();
    expect(await page.locator('#detail-error').textContent()).toBe(`Error: ${FAIL_MESSAGE}`);
    expect(await page.locator('#detail-trace').textContent()).toBe(TRACE_ID);
    expect(await page.locator('#detail-attempts tbody tr').count()).toBe(1);
    const cells = page.locator('#detail-attempts tbody tr td');
    // Run, attempt, outcome.
    expect([await cells.nth(0).textContent(), await cells.nth(1).textContent(), await cells.nth(2).textContent()]).toEqual(['1', '1', 'failed']);
    expect(await page.locator('#detail-retry').isVisible()).toBe(true);
    expect(await page.locator('#detail-cancel').isVisible()).toBe(false);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-detail.png') });
  });

  it('retries it from the page, and shows the new attempt as it runs', { timeout: 60_000 }, async () => {
    expectErrorLogs('Task failed'); // the retried `fail` task fails again, on purpose
    await page.getByRole('button', { name: 'Retry task' }).click();
    await page.locator('#detail-message', { hasText: 'Retry requested' }).waitFor();

    expect((await engine.store.get(ids.failed))?.status).toBe('PENDING');
    await page.locator('#detail-body .status', { hasText: 'PENDING' }).waitFor();

    await runUntilTerminal(engine, aws, [ids.failed]);
    // The open detail follows the task by polling.
    await page.locator('#detail-attempts tbody tr').nth(1).waitFor({ timeout: 15_000 });
    expect(await page.locator('#detail-body .status').textContent()).toBe('FAILED');
    // The retry was run 2, and its attempt says so.
    expect(await page.locator('#detail-attempts tbody tr').nth(1).locator('td').first().textContent()).toBe('2');
  });

  it('closes the detail with Escape and gives focus back to the task', async () => {
    await page.keyboard.press('Escape');

    expect(await page.locator('#detail').getAttribute('open')).toBeNull();
    expect(await page.evaluate("document.activeElement?.getAttribute('data-task-id')")).toBe(ids.failed);
  });

  it('cancels a scheduled task from the keyboard', async () => {
    await page.getByLabel('Status', { exact: true }).selectOption('SCHEDULED');
    await waitForRows(1, 'SCHEDULED');
    await row(ids.scheduled).getByRole('button').focus();
    await page.keyboard.press('Enter');
    await page.locator('#detail-cancel').waitFor({ state: 'visible' });
    await page.locator('#detail-cancel').focus();
    await page.keyboard.press('Enter');
    await page.locator('#detail-message', { hasText: 'Task cancelled.' }).waitFor();

    expect((await engine.store.get(ids.scheduled))?.status).toBe('CANCELLED');
    await page.keyboard.press('Escape');
    await waitForRows(0);
  });

  it('shows an HTML message as text, injecting no element', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await waitForRows(7);
    await row(ids.html).getByRole('button').click();
    await page.locator('#detail-payload').waitFor();

    expect(await page.locator('#detail-payload').textContent()).toContain(HTML_MESSAGE.replace(/"/g, '\\"'));
    expect(await page.locator('#detail-result').textContent()).toContain('<b id=\\"injected\\">not bold</b>');
    expect(await page.locator('#injected, #injected-img').count()).toBe(0);
    await page.keyboard.press('Escape');
  });

  it('saves a screenshot', async () => {
    await page.locator('#detail').waitFor({ state: 'hidden' });
    // No focus ring on the picture; the keyboard tests above already ran.
    await page.evaluate('document.activeElement?.blur(); window.scrollTo(0, 0)');
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    // The README's copy changes only on request, so a test run leaves the checkout clean.
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });

    expect(existsSync(join(OUTPUT, 'dashboard.png'))).toBe(true);
  });

  it('pages through the list with Older and Newer', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => enqueue('write_log', { message: `queued ${i}` }, { delaySeconds: 900 })));
    await page.getByLabel('Per page').selectOption('10');
    await waitForRows(10);

    expect(await page.locator('#page-prev').isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Older' }).click();
    await waitForRows(5, 'SUCCEEDED');
    expect(await page.locator('#page-label').textContent()).toBe('Page 2');
    expect(await page.locator('#page-next').isDisabled()).toBe(true);
    expect(await rows().first().getAttribute('data-task-id')).toBe(ids.html);
    expect(await rowStatuses()).toEqual(Array(5).fill('SUCCEEDED'));

    await page.getByRole('button', { name: 'Newer' }).click();
    await waitForRows(10);
    expect(await page.locator('#page-label').textContent()).toBe('Page 1');
    expect(await rowStatuses()).toEqual(Array(8).fill('SCHEDULED').concat(['CANCELLED', 'FAILED']));
  });

  it('draws a running task\'s progress as a bar, and cancels it while it runs', { timeout: 60_000 }, async () => {
    const taskId = await enqueue('sleep', { ms: 30_000 });
    const worker = runNextBatch(engine, aws, engine.config.queueUrls.default);
    await expect.poll(async () => (await engine.store.get(taskId))?.progress, { timeout: 10_000 }).toBeDefined();
    await row(taskId).getByRole('button').click({ timeout: 15_000 });
    await page.locator('#detail-progress').waitFor({ timeout: 10_000 });

    const percent = Number(await page.locator('#detail-progress').getAttribute('value'));
    expect(percent).toBeGreaterThan(0);
    expect(percent).toBeLessThan(100);
    expect(await page.locator('#detail-progress-text').textContent()).toBe(`${percent}%`);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-progress.png') });
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('#detail-message', { hasText: 'Cancel requested: the task stops within a few seconds.' }).waitFor();
    // Asked once: the button goes once the detail shows the request.
    await page.locator('#detail-cancel').waitFor({ state: 'hidden', timeout: 5_000 });

    await worker;
    await page.locator('#detail-body .status', { hasText: 'CANCELLED' }).waitFor({ timeout: 15_000 });
    expect((await engine.store.get(taskId))?.status).toBe('CANCELLED');
    await page.keyboard.press('Escape');
  });

  it('shows a workflow\'s steps with their statuses, and opens one of them', { timeout: 60_000 }, async () => {
    const res = await fetch(`${server.url}/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ chain: [{ name: 'double', payload: { n: 1 } }, { waitFor: 'approval', timeoutSeconds: 600 }, { name: 'double' }] }),
    });
    const { taskId } = (await res.json()) as { taskId: string };
    await runNextBatch(engine, aws, engine.config.queueUrls.default);
    await expect.poll(async () => (await engine.store.get(taskId))?.status, { timeout: 10_000 }).toBe('WAITING');
    await row(taskId).getByRole('button').click({ timeout: 15_000 });
    await page.locator('#detail-steps tbody tr').nth(2).waitFor({ timeout: 10_000 });

    const cells = await page.locator('#detail-steps tbody tr').evaluateAll((found) => found.map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((c) => c.textContent)));
    expect(cells).toEqual([
      ['0', 'double', 'SUCCEEDED'],
      ['1', 'waits for "approval"', 'WAITING'],
      ['2', 'double', 'PENDING'],
    ]);
    expect(await page.locator('#detail-cancel').isVisible()).toBe(true);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-workflow.png') });
    await page.getByRole('button', { name: 'Open step 0' }).click();
    await page.locator('#detail-title', { hasText: 'double' }).or(page.locator('#detail-result', { hasText: '"n": 2' })).first().waitFor({ timeout: 10_000 });
    expect(await page.locator('#detail-result').textContent()).toContain('"n": 2');
    await page.keyboard.press('Escape');
  });

  it('logged no console error and no page error', () => {
    expect(consoleErrors).toEqual([]);
  });
});
