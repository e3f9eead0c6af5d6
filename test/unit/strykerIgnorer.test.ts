import { parse } from '@babel/parser';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module of the mutation-testing setup, without types
import { strykerPlugins } from '../../stryker/ignoreLogsAndMetrics.mjs';

/** The mutation run's ignorer (stryker/ignoreLogsAndMetrics.mjs): which code counts as "only logs or measures". */
const ignorer = (strykerPlugins as Array<{ value: { shouldIgnore(path: { node: unknown }): string | undefined } }>)[0]!.value;
const firstStatement = (code: string) => (parse(code, { sourceType: 'module', plugins: ['typescript'] }).program.body[0] as { type: string; expression?: unknown });
const ignored = (code: string, expression = true) => {
  const statement = firstStatement(code);
  return ignorer.shouldIgnore({ node: expression && statement.expression ? statement.expression : statement }) !== undefined;
};

describe('mutation run: what only logs or measures', () => {
  it('ignores log and metric calls, and branches, blocks, loops and callbacks made of nothing else', () => {
    expect(ignored("engine.logger.error('x', { a })")).toBe(true);
    expect(ignored('engine.metrics?.flush()')).toBe(true);
    expect(ignored("if (failures.length > 0) engine.logger.error('x', { failures })", false)).toBe(true);
    expect(ignored('if (engine.metrics) { for (const r of results) if (r.ok) engine.metrics.enqueued(r.name); engine.metrics.flush(); }', false)).toBe(true);
    expect(ignored("(error) => engine.logger.warn('x', { error })")).toBe(true);
  });

  it('keeps everything that does more than log', () => {
    expect(ignored('engine.store.stop(task)')).toBe(false);
    expect(ignored("if (failed) { engine.logger.error('x'); counts.failed++; }", false)).toBe(false);
    expect(ignored("if (x) engine.logger.info('a'); else counts.failed++", false)).toBe(false);
    expect(ignored('() => undefined')).toBe(false);
    expect(ignored('{}', false)).toBe(false);
  });
});
