import { describe, expect, it } from 'vitest';
import type { Task } from '../../lib/client';
import { TaskNotFoundError, TasksApiError, TasksUnreachableError, WaitTimeoutError } from '../../lib/client';
import { parseInvocation } from '../../lib/cli/args';
import { COMMANDS, payloadOf } from '../../lib/cli/commands';
import { describeFailure, exitCodeOf, UsageError } from '../../lib/cli/exitCodes';
import { duration, scheduleTable, table, taskDetail } from '../../lib/cli/format';
import { main } from '../../lib/cli/main';

const parse = (...argv: string[]) => parseInvocation(argv, COMMANDS);
const usageError = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (error) {
    return error as UsageError;
  }
  throw new Error(`${argv.join(' ')} parsed`);
};

describe('tasks: the command line', () => {
  it('reads a command, its arguments and options, global ones included', () => {
    const invocation = parse('enqueue', 'write_log', '--payload', '{"message":"hi"}', '--delay', '5', '--json', '--url', 'http://x');

    expect(invocation).toMatchObject({ command: { name: 'enqueue' }, args: ['write_log'], values: { payload: '{"message":"hi"}', delay: '5', json: true, url: 'http://x' } });
  });

  it('takes a debounce as a key and a window, together', async () => {
    expect(parse('enqueue', 'sleep', '--debounce-key', 'cart-1', '--debounce-seconds', '5')).toMatchObject({ values: { 'debounce-key': 'cart-1', 'debounce-seconds': '5' } });
    const err: string[] = [];
    const code = await main(['enqueue', 'sleep', '--debounce-key', 'cart-1'], { out: () => undefined, err: (t) => err.push(t), env: {}, signal: new AbortController().signal });
    expect([code, err[0]]).toEqual([2, 'error: --debounce-key and --debounce-seconds go together']);
  });

  it('takes a workflow\'s body and a signal\'s name and data', async () => {
    expect(parse('workflow', '--body', '{"chain":[]}')).toMatchObject({ command: { name: 'workflow' }, values: { body: '{"chain":[]}' } });
    expect(parse('signal', 'ID', 'approval', '-d', '{"ok":true}')).toMatchObject({ command: { name: 'signal' }, args: ['ID', 'approval'], values: { data: '{"ok":true}' } });
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t), env: {}, signal: new AbortController().signal };
    expect(await main(['workflow'], io)).toBe(2);
    expect(await main(['signal', 'ID', 'go', '--data', '{nope'], io)).toBe(2);
    expect(err.filter((line) => line.startsWith('error:'))).toEqual(['error: --body is required', 'error: --data is not JSON: {nope']);
  });

  it('refuses an unknown command or option and a wrong number of arguments, naming the command', () => {
    expect(usageError('explode').message).toBe('unknown command "explode"; one of: enqueue, get, payload, list, cancel, retry, workflow, signal, wait, tail, stats, schedules, pause, resume');
    expect(usageError('pause')).toMatchObject({ command: 'pause', message: 'pause takes NAME, not ""' });
    expect(usageError('list', '--colour', 'red')).toMatchObject({ command: 'list', message: expect.stringContaining("Unknown option '--colour'") });
    expect(usageError('get')).toMatchObject({ command: 'get', message: 'get takes ID, not ""' });
    expect(usageError('stats', 'now').message).toBe('stats takes no arguments, not "now"');
  });

  it('answers --help for the whole tool and for each command', () => {
    expect(parse()).toEqual({ help: expect.stringContaining('usage: tasks <command> [options]') });
    for (const command of COMMANDS) {
      const help = parse(command.name, '--help');
      expect(help, command.name).toEqual({ help: expect.stringContaining(`usage: tasks ${[command.name, ...command.args].join(' ')} [options]`) });
      expect((help as { help: string }).help).toContain('--json');
    }
  });

  it('takes a payload as JSON, from a file, or {} by default, and refuses what is not JSON', () => {
    const files: Record<string, string> = { 'p.json': '{"ms": 5}' };
    const readText = (path: string) => {
      if (!(path in files)) throw new Error(`ENOENT: no such file, open '${path}'`);
      return files[path]!;
    };

    expect(payloadOf({ values: { payload: '{"a":1}' }, readText })).toEqual({ a: 1 });
    expect(payloadOf({ values: { payload: '@p.json' }, readText })).toEqual({ ms: 5 });
    expect(payloadOf({ values: {}, readText })).toEqual({});
    expect(() => payloadOf({ values: { payload: '{a:1}' }, readText })).toThrow('--payload is not JSON: {a:1}');
    expect(() => payloadOf({ values: { payload: '@missing.json' }, readText })).toThrow("--payload @missing.json: ENOENT: no such file, open 'missing.json'");
  });

  it('exits 2 for usage, 3 for an unknown task, 4 when unreachable, 5 when a wait runs out, 1 for anything else', () => {
    const task = { taskId: 'T', status: 'RUNNING' } as Task;
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new TaskNotFoundError(404, 'task_not_found', 'No task with id T'))).toBe(3);
    expect(exitCodeOf(new TasksUnreachableError('http://x', new Error('fetch failed')))).toBe(4);
    expect(exitCodeOf(new WaitTimeoutError(task, 1_000))).toBe(5);
    expect(exitCodeOf(new TasksApiError(409, 'invalid_state', 'Cannot retry'))).toBe(1);
    expect(describeFailure(new TasksApiError(400, 'validation_error', 'Payload does not match', [{ path: 'message', message: 'Invalid input' }]))).toBe(
      'error: Payload does not match (validation_error, HTTP 400)\n  message: Invalid input',
    );
  });

  it('prints its usage and exits 2 through main, before calling anything', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['wait', 'ID', '--timeout', 'soon'], { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, signal: new AbortController().signal });

    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe('error: --timeout must be a whole number from 1 to 86400, not "soon"');
    expect(err[1]).toContain('usage: tasks wait ID [options]');
  });
});

describe('tasks: what it prints for people', () => {
  it('shows schedules as a table: when, zone, next run, paused, last run', () => {
    expect(
      scheduleTable([
        { name: 'daily_report', cron: '0 9 * * MON-FRI', timezone: 'Europe/Paris', expression: 'cron(0 9 ? * MON-FRI *)', nextRunAt: '2026-03-30T07:00:00.000Z', paused: false, lastRunAt: '2026-03-27T08:00:00.000Z' },
        { name: 'sync', every: '5 minutes', timezone: 'UTC', expression: 'rate(5 minutes)', nextRunAt: null, paused: true },
      ]).split('\n'),
    ).toEqual([
      'NAME          WHEN                  TIME ZONE     NEXT RUN (UTC)       PAUSED  LAST RUN (UTC)',
      'daily_report  cron 0 9 * * MON-FRI  Europe/Paris  2026-03-30 07:00:00  no      2026-03-27 08:00:00',
      'sync          every 5 minutes       UTC           -                    yes     -',
    ]);
  });

  it('exits 3 for a schedule no task has, as for an unknown task', () => {
    expect(exitCodeOf(new TasksApiError(404, 'schedule_not_found', 'No schedule named "x"'))).toBe(3);
  });

  it('aligns columns under their header', () => {
    expect(table(['ID', 'NAME', 'STATUS'], [['1', 'write_log', 'PENDING'], ['22', 'sleep', 'FAILED']])).toBe(
      ['ID  NAME       STATUS', '1   write_log  PENDING', '22  sleep      FAILED'].join('\n'),
    );
  });

  it('writes durations as people read them', () => {
    expect([duration(null), duration(850), duration(12_340), duration(245_000)]).toEqual(['-', '850 ms', '12.3 s', '4 min 5 s']);
  });

  it('shows a task field by field, its error and its payload and result as JSON', () => {
    const task = {
      taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'fail', status: 'FAILED', priority: 'default', run: 1, attempts: 3, maxAttempts: 3, timeoutSeconds: 30, delaySeconds: 0, runAt: null,
      createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:09.000Z', startedAt: '2026-01-02T03:04:06.000Z', finishedAt: '2026-01-02T03:04:09.000Z',
      durationMs: 12, expiresAt: 0, error: { type: 'Error', message: 'nope' }, payload: { message: 'nope' }, result: null, nextAttemptAt: null, attemptLog: [],
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      progress: null, progressAt: null, cancelRequestedAt: null, debounce: null,
    } as Task;

    expect(taskDetail(task).split('\n')).toEqual([
      'id:       01ARZ3NDEKTSV4RRFFQ69G5FAV',
      'name:     fail',
      'status:   FAILED',
      'attempts: 3/3 (run 1)',
      'priority: default',
      'created:  2026-01-02 03:04:05',
      'started:  2026-01-02 03:04:06',
      'finished: 2026-01-02 03:04:09',
      'duration: 12 ms',
      'error:    Error: nope',
      'trace:    4bf92f3577b34da6a3ce929d0e0e4736',
      'payload:  {"message":"nope"}',
      'result:   null',
    ]);
    const linked = { ...task, payload: null, payloadUrl: 'http://s3.test/p.json?X-Amz-Signature=1' } as unknown as Task;
    expect(taskDetail(linked).split('\n')).toContain('payload:  over 256 KB: tasks payload 01ARZ3NDEKTSV4RRFFQ69G5FAV (or http://s3.test/p.json?X-Amz-Signature=1)');
  });

  it('shows a running task\'s progress, a cancel asked of it and its debounce', () => {
    const task = {
      taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'sleep', status: 'RUNNING', priority: 'default', run: 1, attempts: 1, maxAttempts: 1, timeoutSeconds: 660, delaySeconds: 0, runAt: null, traceId: null,
      createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:09.000Z', startedAt: '2026-01-02T03:04:06.000Z', finishedAt: null,
      durationMs: null, expiresAt: 0, error: null, payload: { ms: 5000 }, result: null, nextAttemptAt: null, attemptLog: [],
      progress: { sleptMs: 3000, totalMs: 5000 }, progressAt: '2026-01-02T03:04:09.000Z', cancelRequestedAt: '2026-01-02T03:04:10.000Z', debounce: { key: 'cart-1', seconds: 5 },
    } as Task;

    expect(taskDetail(task).split('\n').slice(9, 12)).toEqual([
      'progress:     {"sleptMs":3000,"totalMs":5000} (2026-01-02 03:04:09)',
      'cancel asked: 2026-01-02 03:04:10',
      'debounce:     cart-1, 5 s',
    ]);
  });
});
