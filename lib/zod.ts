/**
 * zod/mini, with English error messages: `import * as z from './zod'`.
 * The HTTP API returns zod's messages to clients; classic zod registers
 * English on first use, zod/mini leaves the locale to the application.
 * zod/mini rather than zod: the same schemas and messages at a fraction of
 * the bundle, since only the functions used are kept (see docs/performance.md). Task payload schemas may use either.
 */
import { _default, coerce, config, int, maximum, minimum, pipe } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// A star re-export keeps tree shaking; exporting a namespace object would not.
export * from 'zod/mini';

/** An integer given as text (an environment variable, a query parameter): coerced, within bounds, with a default. */
export function intFromText(fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  return _default(pipe(coerce.number(), int().check(minimum(min), maximum(max))), fallback);
}
