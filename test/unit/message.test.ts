import { describe, expect, it } from 'vitest';
import { messageBody, parseMessage, toMessage } from '../../lib/message';

const taskId = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

describe('the task message', () => {
  it('names the task and its run, and goes to its priority’s queue with its delay', () => {
    expect(toMessage({ taskId, name: 'write_log', priority: 'high' }, 2, 30)).toEqual({ message: { v: 2, taskId, name: 'write_log', run: 2 }, priority: 'high', delaySeconds: 30 });
    expect(toMessage({ taskId, name: 'write_log', priority: 'default' }, 1)).toEqual({ message: { v: 2, taskId, name: 'write_log', run: 1 }, priority: 'default' });
  });

  it('round-trips through its body', () => {
    const { message } = toMessage({ taskId, name: 'write_log', priority: 'default' }, 3);
    expect(parseMessage(messageBody(message))).toEqual({ ok: true, message });
  });

  it('refuses what is not a task message, keeping the task id it names if any', () => {
    expect(parseMessage('not json')).toEqual({ ok: false });
    expect(parseMessage(JSON.stringify({ v: 1, taskId, name: 'write_log' }))).toEqual({ ok: false, taskId });
    expect(parseMessage(JSON.stringify({ v: 2, taskId, name: 'write_log', run: 0 }))).toEqual({ ok: false, taskId });
    expect(parseMessage(JSON.stringify({ v: 2, taskId: 'nope', name: 'write_log', run: 1 }))).toEqual({ ok: false, taskId: undefined });
    expect(parseMessage('null')).toEqual({ ok: false, taskId: undefined });
  });
});
