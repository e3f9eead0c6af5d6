'use strict';
// esbuild plugins for the Lambda bundles (serverless.yml: custom.esbuild.plugins;
// bench/coldStart.ts builds with the same list): the dashboard's browser script,
// bundled into the dashboard function (dashboardClient.cjs), the api's OpenAPI
// document, built into the api function (openapiDocument.cjs), the OpenTelemetry
// SDK only where tracing is on (tracingSetup.cjs), and trimZod, which
// exists for cold starts: classic `import { z } from 'zod'` keeps zod's whole namespace, so esbuild
// cannot drop the parts of zod that the functions never call. The engine and
// the built-in tasks use zod/mini, which esbuild tree-shakes; these plugins
// drop the same parts for a task module that imports classic zod.

const { readFileSync } = require('node:fs');

/**
 * zod's `z.locales`: ~40 translated error-message sets (about 260 KB
 * minified). English is imported by zod's schemas directly and stays; only
 * `z.config(z.locales.xx())` becomes unavailable, and nothing here calls it.
 */
const ZOD_LOCALES = /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/;

/**
 * zod features the functions do not use (about 70 KB minified): compiling a
 * schema ahead of time (`z.compile`) and JSON Schema conversion
 * (`z.toJSONSchema`, `z.fromJSONSchema`, `.toJSONSchema()`, Standard Schema's
 * `jsonSchema`). Parsing does not touch them. In the bundles each of their
 * exports throws when called, saying why, so a future use fails loudly, never
 * silently; the `create...Method` factories, which zod calls on first access
 * of `~standard`, return such a function instead of throwing themselves.
 */
const ZOD_UNUSED = /[\\/]zod[\\/]v4[\\/](core[\\/]compile|core[\\/]json-schema-processors|core[\\/]json-schema-generator|core[\\/]to-json-schema|classic[\\/]from-json-schema)\.js$/;

/** The names a zod ES module exports (`export function|const|class name`, `export { a, b as c }`). */
function exportNames(source) {
  const names = new Set();
  for (const m of source.matchAll(/^export (?:async )?(?:function\*?|const|let|var|class) ([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  for (const m of source.matchAll(/^export \{([^}]*)\}(?! from)/gm)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) names.add(name);
    }
  }
  return [...names];
}

const trimZod = {
  name: 'trim-zod',
  setup(build) {
    build.onLoad({ filter: ZOD_LOCALES }, () => ({ contents: 'export {};', loader: 'js' }));
    build.onLoad({ filter: ZOD_UNUSED }, (args) => {
      const file = args.path.split(/[\\/]zod[\\/]/).pop();
      const message = `zod/${file} is left out of the Lambda bundles (lib/build/esbuildPlugins.cjs)`;
      const names = exportNames(readFileSync(args.path, 'utf8'));
      const factories = names.filter((n) => /^create\w*Method$/.test(n));
      const others = names.filter((n) => !factories.includes(n));
      const contents = [
        `const unavailable = () => { throw new Error(${JSON.stringify(message)}); };`,
        ...factories.map((n) => `export const ${n} = () => unavailable;`),
        `export { ${others.map((n) => `unavailable as ${n}`).join(', ')} };`,
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

const { tracingEnabled, tracingSetupPlugin } = require('./tracingSetup.cjs');

/**
 * The plugins of one build. serverless-esbuild calls this with the
 * Serverless instance, whose resolved configuration says whether tracing is
 * on; `options.tracing` decides it instead (the cold-start bench builds both ways).
 */
function esbuildPlugins(serverless, options = {}) {
  const tracing = options.tracing ?? tracingEnabled(serverless);
  return [trimZod, require('./dashboardClient.cjs').esbuildPlugin, require('./openapiDocument.cjs').esbuildPlugin, tracingSetupPlugin(tracing)];
}

module.exports = esbuildPlugins;
