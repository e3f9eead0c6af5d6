'use strict';
// The dashboard's browser script (lib/dashboard/client/, TypeScript modules)
// bundled into one file at build time, and handed to the dashboard function
// as a string: `import script from 'virtual:dashboard-client'`. The Lambda
// bundle then carries the script, with no file read at run time. The same
// bundle serves the esbuild builds (serverless.yml, bench/coldStart.ts, via
// esbuildPlugins.cjs) and vitest (test/support/dashboardClient.ts).

const { join } = require('node:path');

const VIRTUAL_ID = 'virtual:dashboard-client';
const ENTRY = join(__dirname, '..', 'dashboard', 'client', 'main.ts');

/** The client as one script: an IIFE for today's browsers, unminified so it reads well in devtools. */
function bundleDashboardClient() {
  const esbuild = require('esbuild');
  const out = esbuild.buildSync({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

const moduleText = () => `export default ${JSON.stringify(bundleDashboardClient())};`;

/** For esbuild: resolves the virtual module to the bundled script. */
const esbuildPlugin = {
  name: 'dashboard-client',
  setup(build) {
    build.onResolve({ filter: /^virtual:dashboard-client$/ }, () => ({ path: VIRTUAL_ID, namespace: 'dashboard-client' }));
    build.onLoad({ filter: /.*/, namespace: 'dashboard-client' }, () => ({ contents: moduleText(), loader: 'js', watchDirs: [join(__dirname, '..', 'dashboard', 'client')] }));
  },
};

module.exports = { bundleDashboardClient, esbuildPlugin };
