'use strict';
// The api's OpenAPI document, built with the api's bundle and handed to it as
// text: `import openApiDocument from 'virtual:openapi-document'`. The Lambda
// then serves GET /openapi.json without building anything, and its bundle
// carries neither zod's JSON Schema code nor lib/openapi's. The document is
// read from functions/api.ts itself (its exported apiOptions, and the tasks it
// registers), so it describes what that function serves. `npm run openapi`
// writes the same document to openapi.json.

const { createRequire } = require('node:module');
const { join } = require('node:path');
const vm = require('node:vm');

const ROOT = join(__dirname, '..', '..');
const VIRTUAL_ID = 'virtual:openapi-document';

const ENTRY = `
  import { apiOptions } from './functions/api';
  import { apiDocument } from './lib/openapi/apiDocument';
  export const document = apiDocument(apiOptions);
`;

/**
 * The document, as an object: functions/api.ts and what it imports bundled
 * (packages stay outside, loaded from node_modules) and run in this process.
 * Inside that run the document's own module is a placeholder.
 */
function buildOpenApiDocument() {
  const esbuild = require('esbuild');
  const out = esbuild.buildSync({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'openapi-entry.ts' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    external: [VIRTUAL_ID],
    logLevel: 'silent',
  });
  const filename = join(ROOT, 'openapi-document.cjs');
  const requireFromRoot = createRequire(filename);
  const requireInBuild = (id) => (id === VIRTUAL_ID ? { __esModule: true, default: undefined } : requireFromRoot(id));
  const module = { exports: {} };
  vm.runInThisContext(`(function (exports, require, module) {${out.outputFiles[0].text}\n})`, { filename })(module.exports, requireInBuild, module);
  return module.exports.document;
}

/** The module that builds the document on a request, for handlers given none (lib/http/api.ts). */
const GENERATOR = /[\\/]lib[\\/]openapi[\\/]document\.ts$/;

/**
 * For esbuild: resolves the virtual module to the document's JSON text, and
 * leaves the on-request generator out of the bundles, which never call it
 * (functions/api.ts hands the built document to its handler): if one ever
 * did, it would throw saying why, never answer a wrong document.
 */
const esbuildPlugin = {
  name: 'openapi-document',
  setup(build) {
    build.onLoad({ filter: GENERATOR }, () => ({
      contents: 'export function openApiDocument() { throw new Error("lib/openapi/document is left out of the Lambda bundles: functions/api.ts serves the document built with them (lib/build/openapiDocument.cjs)"); }',
      loader: 'js',
    }));
    build.onResolve({ filter: /^virtual:openapi-document$/ }, () => ({ path: 'document', namespace: 'openapi-document' }));
    build.onLoad({ filter: /.*/, namespace: 'openapi-document' }, () => ({
      contents: `export default ${JSON.stringify(JSON.stringify(buildOpenApiDocument()))};`,
      loader: 'js',
      watchDirs: [join(ROOT, 'functions'), join(ROOT, 'lib')],
    }));
  },
};

module.exports = { buildOpenApiDocument, esbuildPlugin };
