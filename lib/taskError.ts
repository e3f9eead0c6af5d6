import type { TaskError } from './types';
import { byteLength, clip } from './text';

/** Error types (an Error's name) are kept to this many characters. */
export const ERROR_TYPE_LIMIT = 200;
/** Error messages are kept to this many characters. */
export const ERROR_MESSAGE_LIMIT = 1_000;
/** Results above this are replaced by a marker (DynamoDB items are capped at 400 KB). */
export const RESULT_LIMIT_BYTES = 64 * 1024;

/**
 * What is recorded of a thrown value: a type and a message, bounded and
 * well-formed, never a stack. Whatever was thrown (an Error with an odd or
 * hostile message, a string, null, an object, a Proxy), this returns, so the
 * outcome of an attempt can always be written.
 */
export function toTaskError(thrown: unknown): TaskError {
  try {
    if (thrown instanceof Error) {
      const name = read(() => thrown.name);
      const message = read(() => thrown.message);
      return {
        type: clip(typeof name === 'string' && name !== '' ? name : 'Error', ERROR_TYPE_LIMIT),
        message: clip(message === undefined ? '' : describe(message), ERROR_MESSAGE_LIMIT),
      };
    }
    return { type: 'NonErrorThrown', message: clip(describe(thrown), ERROR_MESSAGE_LIMIT) };
  } catch {
    return { type: 'UnreadableError', message: 'The thrown value could not be read' };
  }
}

/** A thrown value as a log line shows it: plain text only, so that writing the line can never throw. */
export interface LoggedError {
  name: string;
  message: string;
  stack?: string;
  cause?: LoggedError;
}

/**
 * What a log may show of a thrown value: its name, message, stack and causes
 * (two deep), each read once and safely, bounded. A logger given the value
 * itself walks it (a cause that refers back to it, a getter that throws, a
 * Proxy whose traps throw), and a log call that throws would lose the very
 * outcome it reports. Never throws.
 */
export function loggableError(thrown: unknown, depth = 0): LoggedError {
  try {
    if (!(thrown instanceof Error)) return { name: 'NonErrorThrown', message: clip(describe(thrown), ERROR_MESSAGE_LIMIT) };
    const name = read(() => thrown.name);
    const message = read(() => thrown.message);
    const stack = read(() => thrown.stack);
    const cause = depth < 2 ? read(() => thrown.cause) : undefined;
    return {
      name: clip(typeof name === 'string' && name !== '' ? name : 'Error', ERROR_TYPE_LIMIT),
      message: clip(message === undefined ? '' : describe(message), ERROR_MESSAGE_LIMIT),
      ...(typeof stack === 'string' ? { stack: clip(stack, LOGGED_STACK_LIMIT) } : {}),
      ...(cause === undefined ? {} : { cause: loggableError(cause, depth + 1) }),
    };
  } catch {
    return { name: 'UnreadableError', message: 'The thrown value could not be read' };
  }
}

/** Stacks in logs are kept to this many characters. */
const LOGGED_STACK_LIMIT = 4_000;

/** A shorter copy, for the attempt log, which keeps several. */
export function briefError(error: TaskError): TaskError {
  return { type: clip(error.type, 100), message: clip(error.message, 200) };
}

/** The result as stored, as JSON text: as is up to `limitBytes` (64 KB in the table; 5 MB with a bucket, lib/payloads), otherwise a marker saying what was dropped. */
export function resultJson(result: unknown, limitBytes = RESULT_LIMIT_BYTES): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch {
    return JSON.stringify({ truncated: true, reason: 'not serialisable as JSON' });
  }
  if (json === undefined) return 'null';
  const size = byteLength(json);
  if (size <= limitBytes) return json;
  return JSON.stringify({ truncated: true, reason: `result is ${size} bytes; the limit is ${limitBytes}`, sizeBytes: size });
}

function read<T>(get: () => T): T | undefined {
  try {
    return get();
  } catch {
    return undefined;
  }
}

/** Any value as text: strings as they are, the rest as JSON, or as String() would show it. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = read(() => JSON.stringify(value));
  if (typeof json === 'string') return json;
  return read(() => String(value)) ?? Object.prototype.toString.call(value);
}
