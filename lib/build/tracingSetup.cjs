'use strict';
// Whether the Lambda bundles carry the OpenTelemetry SDK. Each function
// imports lib/tracing/setup/register.ts first; this plugin empties that module
// unless tracing is on, so a stage without tracing bundles none of the SDK
// (only @opentelemetry/api, whose calls are then no-ops). On: the stage's
// `tracing` param (serverless.yml sets TRACING in the functions' environment
// from it), or `npm start` with LOCAL_TRACES set (docs/tracing.md).

const REGISTER = /[\\/]lib[\\/]tracing[\\/]setup[\\/]register\.ts$/;

/** Tracing modes the template accepts for the `tracing` stage param (lib/build/stageOptions.cjs checks it). */
const TRACING_MODES = ['off', 'xray'];

/** Whether this build is for a stage with tracing on, or for `npm start` with LOCAL_TRACES. */
function tracingEnabled(serverless, env = process.env) {
  const mode = String(serverless?.service?.provider?.environment?.TRACING ?? 'off').trim().toLowerCase();
  if (mode !== 'off' && mode !== '') return true;
  const commands = serverless?.processedInput?.commands ?? [];
  const local = String(env.LOCAL_TRACES ?? '').trim();
  return commands[0] === 'offline' && local !== '' && local !== 'off';
}

/** The esbuild plugin: leaves register.ts as it is when `enabled`, else makes it empty. */
function tracingSetupPlugin(enabled) {
  return {
    name: 'tracing-setup',
    setup(build) {
      if (enabled) return;
      build.onLoad({ filter: REGISTER }, () => ({ contents: '// tracing is off for this build (lib/build/tracingSetup.cjs)\n', loader: 'js' }));
    },
  };
}

module.exports = { REGISTER, TRACING_MODES, tracingEnabled, tracingSetupPlugin };
