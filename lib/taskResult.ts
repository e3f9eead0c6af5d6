import type { $ZodError } from 'zod/v4/core';
import type { TaskDefinition } from './task';
import { ERROR_MESSAGE_LIMIT } from './taskError';
import { clip } from './text';
import type { TaskError } from './types';
import * as z from './zod';

/** Issues named in the recorded error; the rest are counted. */
const ISSUES_SHOWN = 3;

export type CheckedResult = { ok: true; result: unknown } | { ok: false; error: TaskError; cause: $ZodError; timedOut: false; retryable: false };

/**
 * Holds a handler's result to its task's result schema, if it declared one:
 * the schema's output is what gets recorded, and a result that does not match
 * fails the attempt without a retry (the same code would return the same).
 */
export function checkResult(task: TaskDefinition, result: unknown): CheckedResult {
  if (!task.result) return { ok: true, result };
  const parsed = z.safeParse(task.result, result);
  if (parsed.success) return { ok: true, result: parsed.data };
  const { issues } = parsed.error;
  const shown = issues.slice(0, ISSUES_SHOWN).map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(result)'}: ${i.message}`);
  if (issues.length > ISSUES_SHOWN) shown.push(`and ${issues.length - ISSUES_SHOWN} more`);
  const message = clip(`The result does not match the result schema of task "${task.name}": ${shown.join('; ')}`, ERROR_MESSAGE_LIMIT);
  return { ok: false, error: { type: 'InvalidResult', message }, cause: parsed.error, timedOut: false, retryable: false };
}
