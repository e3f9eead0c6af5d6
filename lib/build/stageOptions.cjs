'use strict';
// The parts of the template that exist only when a stage param asks for them
// (serverless.yml: `${file(./lib/build/stageOptions.cjs):<name>}`). They are
// decided here, when the Framework resolves the file, rather than with
// CloudFormation conditions: a param is known at package time, so a condition
// on it always evaluates the same way (cfn-lint W8003), and its unused branch
// still has to be a valid template (an unset key ARN made `Resource: ''`,
// cfn-lint E3510). An unset param leaves nothing behind: `AWS::NoValue`
// removes the list item or property it stands for.

const NO_VALUE = { Ref: 'AWS::NoValue' };
const { TRACING_MODES } = require('./tracingSetup.cjs');

/** A param's value, or '' when it is not set. */
async function param(resolveVariable, name) {
  const value = await resolveVariable(`param:${name}, ''`);
  return value === undefined || value === null ? '' : String(value).trim();
}

/** The tracing mode a param names; anything else stops the package with the list of modes. */
function tracingMode(text) {
  const mode = (text || 'off').toLowerCase();
  if (!TRACING_MODES.includes(mode)) throw new Error(`tracing must be one of ${TRACING_MODES.join(', ')}; got "${text}"`);
  return mode;
}

module.exports = {
  /** The api's right to decrypt the API-key parameter with a customer-managed KMS key, through SSM only. */
  async apiKeyKmsStatement({ resolveVariable }) {
    const keyArn = await param(resolveVariable, 'apiKeyKmsKeyArn');
    if (!keyArn) return NO_VALUE;
    return {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: keyArn,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    };
  },

  /** The alarm topic's email subscription (AWS mails a confirmation link first). */
  async alarmEmailSubscription({ resolveVariable }) {
    const email = await param(resolveVariable, 'alarmEmail');
    return email ? { Protocol: 'email', Endpoint: email } : NO_VALUE;
  },

  /**
   * The `tracing` param, checked: off (the default), or xray (spans of the
   * api and the worker to X-Ray through Lambda's daemon: docs/tracing.md).
   * It becomes the functions' TRACING variable, which also decides whether
   * their bundles carry the OpenTelemetry SDK (lib/build/tracingSetup.cjs).
   */
  async tracing({ resolveVariable }) {
    return tracingMode(await param(resolveVariable, 'tracing'));
  },

  /** Lambda's active tracing (its X-Ray daemon receives the spans) for the functions that make spans, when tracing is on. */
  async lambdaTracing({ resolveVariable }) {
    return tracingMode(await param(resolveVariable, 'tracing')) === 'xray' ? 'Active' : false;
  },

  /**
   * The right to send to X-Ray, only when tracing is on: the two calls
   * Lambda's daemon makes with the function's role. X-Ray has no resource
   * to scope them to, so the resource is `*` (AWSXRayDaemonWriteAccess grants the same).
   */
  async xrayStatement({ resolveVariable }) {
    if (tracingMode(await param(resolveVariable, 'tracing')) !== 'xray') return NO_VALUE;
    return { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' };
  },

  /** The worker's reserved concurrency; 0 reserves none (a new account cannot reserve any). */
  async workerReservedConcurrency({ resolveVariable }) {
    const text = await param(resolveVariable, 'workerReservedConcurrency');
    const reserved = Number(text || '0');
    if (!Number.isInteger(reserved) || reserved < 0) {
      throw new Error(`workerReservedConcurrency must be a whole number, 0 for none; got "${text}"`);
    }
    return reserved > 0 ? reserved : NO_VALUE;
  },
};
