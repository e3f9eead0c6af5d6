#!/usr/bin/env node
'use strict';
// `npx tasks ...` (package.json "bin"). The CLI is TypeScript (lib/cli/main.ts),
// run in this process through tsx's require API: no build step, nothing to
// keep in sync, and no second Node process (as the tsx command would start)
// between the shell and the exit code.

const { require: tsxRequire } = require('tsx/cjs/api');

const { main } = tsxRequire('./main.ts', __filename);
const stop = new AbortController();
// Ctrl+C ends `tail` cleanly (exit 0); a second one ends the process at once.
process.once('SIGINT', () => {
  stop.abort();
  process.once('SIGINT', () => process.exit(130));
});
process.once('SIGTERM', () => stop.abort());

main(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  signal: stop.signal,
}).then((code) => {
  process.exitCode = code;
});
