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

/** A shorter copy, for the attempt log, which keeps several. */
export function briefError(error: TaskError): TaskError {
  return { type: clip(error.type, 100), message: clip(error.message, 200) };
}

/** The result as stored, as JSON text: as is up to 64 KB, otherwise a marker saying what was dropped. */
export function resultJson(result: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch {
    return JSON.stringify({ truncated: true, reason: 'not serialisable as JSON' });
  }
  if (json === undefined) return 'null';
  const size = byteLength(json);
  if (size <= RESULT_LIMIT_BYTES) return json;
  return JSON.stringify({ truncated: true, reason: `result is ${size} bytes; the limit is ${RESULT_LIMIT_BYTES}`, sizeBytes: size });
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
