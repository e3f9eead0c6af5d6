'use strict';
// The recurring schedules, generated into the template from the task
// definitions: a Serverless plugin that, when the service is initialised (for
// `package`, `deploy` and `offline start` alike), adds one
// AWS::Scheduler::Schedule per task that has a `schedule` to
// `resources.Resources`. The tasks are read as openapiDocument.cjs reads the
// api's: functions/worker.ts (which enqueues the ticks) bundled with esbuild,
// packages left outside, and run in this process; lib/schedules/template.ts
// makes the resources. `npm start` finds them there and runs them
// (lib/schedules/localScheduler.ts), so AWS and local runs read one description.

const { createRequire } = require('node:module');
const { join } = require('node:path');
const vm = require('node:vm');

const ROOT = join(__dirname, '..', '..');

const ENTRY = `
  import './functions/worker';
  import { registeredTasks } from './lib/task';
  import { scheduleResources } from './lib/schedules/template';
  export const resources = scheduleResources(registeredTasks());
`;

/** The schedules' resources, by logical id. */
function buildScheduleResources() {
  const esbuild = require('esbuild');
  const out = esbuild.buildSync({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'schedules-entry.ts' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    logLevel: 'silent',
  });
  const filename = join(ROOT, 'schedules-entry.cjs');
  const module = { exports: {} };
  vm.runInThisContext(`(function (exports, require, module) {${out.outputFiles[0].text}\n})`, { filename })(module.exports, createRequire(filename), module);
  return module.exports.resources;
}

class SchedulesPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { initialize: () => this.addSchedules() };
  }

  addSchedules() {
    const service = this.serverless.service;
    service.resources = service.resources || {};
    service.resources.Resources = service.resources.Resources || {};
    const generated = buildScheduleResources();
    for (const id of Object.keys(generated)) {
      if (service.resources.Resources[id]) throw new this.serverless.classes.Error(`serverless.yml already has a resource named ${id}, which a task's schedule needs`);
    }
    Object.assign(service.resources.Resources, generated);
  }
}

module.exports = SchedulesPlugin;
module.exports.buildScheduleResources = buildScheduleResources;
