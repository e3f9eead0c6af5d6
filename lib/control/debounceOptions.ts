import * as z from '../zod';
import { MAX_KEY_LENGTH } from './keys';

/** `enqueue(..., { debounce })` and `POST /tasks {debounce}`: a burst of enqueues with one key runs once (lib/control/debounce.ts). */
export const DebounceOptions = z.strictObject({
  key: z.string().check(z.minLength(1), z.maxLength(MAX_KEY_LENGTH)),
  /** The window: the task runs this long after the last enqueue of its burst (1 to 900, SQS's longest delay). */
  seconds: z.int().check(z.minimum(1), z.maximum(900)),
});
export type DebounceOptions = z.output<typeof DebounceOptions>;
