// A Stryker ignorer: mutants inside log and metric calls change what is
// written to the logs, not what happens to a task; the issue that set the
// mutation score (#18) lets log wording and metric names go as a class.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

/** `logger.info(...)`, `engine.logger.warn(...)`, `engine.metrics?.failed(...)`, `console.error(...)`. */
const LOGGING = /(^|\.)(logger|metrics|console)(\?)?\.(\w+)$/;

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logs-and-metrics', {
    shouldIgnore(path) {
      if (!path.isCallExpression()) return undefined;
      const callee = path.get('callee').toString().replace(/\s+/g, '');
      return LOGGING.test(callee) ? 'log wording and metric names: what is logged, not what happens to a task' : undefined;
    },
  }),
];
