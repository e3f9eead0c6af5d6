import { afterEach, beforeEach } from 'vitest';

/**
 * Every test runs with the engine's logger at INFO, as deployed, and an ERROR
 * line that a test did not expect fails it: an ERROR is what an operator is
 * paged for, so a test that provokes one must say so (`expectErrorLogs`).
 * Loaded for every test file (vitest.config.mts, setupFiles). Powertools
 * writes through the global console here (POWERTOOLS_DEV), one JSON object per line.
 */
type Pattern = string | RegExp;

const fileWide: Pattern[] = [];
let perTest: Pattern[] = [];
let inTest = false;
let seen: string[] = [];
let lines: Array<Record<string, unknown>> = [];

/**
 * ERROR lines whose message matches one of `patterns` are expected: for the
 * rest of the test when called inside one, for every test of the file when
 * called at its top level.
 */
export function expectErrorLogs(...patterns: Pattern[]): void {
  (inTest ? perTest : fileWide).push(...patterns);
}

/** ERROR lines logged so far in this test, expected or not (their messages). */
export function errorLogs(): readonly string[] {
  return seen;
}

/** The ERROR lines logged so far in this test whose message is `message`, whole (their fields: taskId...). */
export function errorLogLines(message: string): ReadonlyArray<Record<string, unknown>> {
  return lines.filter((line) => line.message === message);
}

const matches = (message: string, pattern: Pattern) => (typeof pattern === 'string' ? message.includes(pattern) : pattern.test(message));

const error = console.error.bind(console);
console.error = (...args: unknown[]) => {
  const first = args[0];
  if (typeof first === 'string' && first.startsWith('{')) {
    try {
      const line = JSON.parse(first) as { level?: string; message?: unknown };
      if (line.level === 'ERROR') {
        seen.push(String(line.message));
        lines.push(line);
      }
    } catch {
      // Not a log line of ours.
    }
  }
  error(...args);
};

beforeEach(() => {
  inTest = true;
  perTest = [];
  seen = [];
  lines = [];
});

afterEach(() => {
  inTest = false;
  const allowed = [...fileWide, ...perTest];
  const unexpected = seen.filter((message) => !allowed.some((p) => matches(message, p)));
  if (unexpected.length > 0) throw new Error(`Unexpected ERROR log line(s): ${unexpected.map((m) => JSON.stringify(m)).join(', ')}`);
});
