// A Stryker ignorer: mutants inside log and metric calls change what is
// written to the logs, not what happens to a task; the issue that set the
// mutation score (#18) lets log wording and metric names go as a class. So do
// mutants of code that does nothing but log or measure: a branch, a block, a
// loop or a callback whose every statement is such a call.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

/** `logger.info(...)`, `engine.logger.warn(...)`, `engine.metrics?.failed(...)`, `console.error(...)`. */
const LOGGING = /(^|\.)(logger|metrics|console)(\?)?\.(\w+)$/;

/** `a.b?.c` for a callee made of identifiers and property names; undefined for anything else. */
function calleeName(node) {
  if (node.type === 'Identifier') return node.name;
  if ((node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression') && !node.computed) {
    const object = calleeName(node.object);
    return object === undefined ? undefined : `${object}${node.optional ? '?' : ''}.${node.property.name}`;
  }
  return undefined;
}

function isLoggingCall(node) {
  if (node.type !== 'CallExpression' && node.type !== 'OptionalCallExpression') return false;
  const name = calleeName(node.callee);
  return name !== undefined && LOGGING.test(name);
}

/** Code whose only effect is logs or metrics. */
function onlyLogs(node) {
  switch (node.type) {
    case 'CallExpression':
    case 'OptionalCallExpression':
      return isLoggingCall(node);
    case 'ExpressionStatement':
      return onlyLogs(node.expression);
    case 'BlockStatement':
      return node.body.length > 0 && node.body.every(onlyLogs);
    case 'IfStatement':
      return onlyLogs(node.consequent) && (node.alternate == null || onlyLogs(node.alternate));
    case 'ForOfStatement':
      return onlyLogs(node.body);
    case 'ArrowFunctionExpression':
      return onlyLogs(node.body);
    default:
      return false;
  }
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logs-and-metrics', {
    shouldIgnore(path) {
      return onlyLogs(path.node) ? 'log wording and metric names: what is logged or measured, not what happens to a task' : undefined;
    },
  }),
];
