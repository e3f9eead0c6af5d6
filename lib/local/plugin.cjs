'use strict';
/**
 * Serverless plugin behind `npm start`: embedded SQS and DynamoDB, the
 * resources of serverless.yml created on them, and an SQS event source that
 * invokes the worker through serverless-offline. It hooks only
 * `offline start`, so `package` and `deploy` never load the runtime.
 * CommonJS because the Framework requires plugins; the runtime is TypeScript,
 * loaded through tsx on first use.
 */
class LocalRuntimePlugin {
  constructor(serverless, cliOptions, utils) {
    this.serverless = serverless;
    this.log = utils && utils.log ? utils.log : console;
    this.runtime = undefined;
    this.hooks = {
      'before:offline:start:init': () => this.guard(() => this.load().prepare()),
      'after:offline:start:init': () => this.guard(() => this.runtime.start()),
      'before:offline:start:end': () => this.guard(() => this.runtime && this.runtime.stop()),
    };
  }

  load() {
    require('tsx/cjs/api').register();
    const { LocalRuntime } = require('./runtime.ts');
    const log = this.log;
    this.runtime = new LocalRuntime(this.serverless, {
      notice: (m) => (log.notice || log.log).call(log, m),
      warning: (m) => (log.warning || log.warn).call(log, m),
      error: (m) => log.error.call(log, m),
      verbose: (m) => (log.verbose || log.debug).call(log, m),
    });
    return this.runtime;
  }

  /**
   * A step that fails ends the process: serverless-offline (and
   * serverless-esbuild's esbuild service) would otherwise keep it alive with
   * no worker. A startup problem is one line with its cause and one with its
   * fix; anything else keeps its stack.
   */
  async guard(step) {
    try {
      await step();
    } catch (error) {
      // The Framework prints the error first; exit once it has.
      setTimeout(() => process.exit(1), 1_000).unref();
      if (error && error.name === 'LocalStartupError') {
        throw new this.serverless.classes.Error(`${error.problem}\n  fix: ${error.fix}`, 'LOCAL_STARTUP');
      }
      throw error;
    }
  }
}

module.exports = LocalRuntimePlugin;
