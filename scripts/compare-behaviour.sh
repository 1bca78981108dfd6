#!/usr/bin/env bash
# Behaviour unchanged across a refactoring (issue #19): synthesizes the example config, runs
# the demo (`mailprobe run --json` against loopback servers) and dumps the plans and cost
# estimates of 15 configs (scripts/dump-plans.ts: generated fleets, every alarm × metric mode)
# at two commits, and compares them after removing what differs between any two runs: asset
# hashes, ports, times, durations and the demo's freshly made certificates. Exit 0 when both are
# the same, 1 with the diff otherwise.
#
#   bash scripts/compare-behaviour.sh BEFORE [AFTER]     (AFTER defaults to the working tree)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
before=${1:?usage: compare-behaviour.sh BEFORE [AFTER]}
after=${2:-}
out=$(mktemp -d "${TMPDIR:-/tmp}/mailprobe-compare-XXXXXX")
trees=()
cleanup() {
  for t in "${trees[@]}"; do git -C "$repo" worktree remove --force "$t" >/dev/null 2>&1 || true; done
  rm -rf "$out"
}
trap cleanup EXIT

checkout() { # $1 = rev or "" for the working tree; prints the directory
  if [ -z "$1" ]; then echo "$repo"; return; fi
  local dir="$out/tree-$1"
  git -C "$repo" worktree add --detach --quiet "$dir" "$1"
  ln -s "$repo/node_modules" "$dir/node_modules"
  trees+=("$dir")
  echo "$dir"
}

capture() { # $1 = directory, $2 = label
  local dir=$1 label=$2
  (
    cd "$dir"
    CDK_DISABLE_VERSION_CHECK=1 npx cdk synth -c config=mailprobe.config.example.yaml -o "$out/cdk-$label" --quiet >/dev/null
    npx tsx scripts/demo.ts --json --output "$out/run-$label.json" >/dev/null || true
  )
  node "$repo/scripts/normalize-behaviour.mjs" "$out/cdk-$label" "$out/run-$label.json" >"$out/$label.txt"
  (cd "$repo" && npx tsx scripts/dump-plans.ts "$dir") >"$out/plans-$label.json"
}

b=$(checkout "$before")
capture "$b" before
trees_after=$(checkout "$after")
capture "$trees_after" after
if diff -u "$out/before.txt" "$out/after.txt" && cmp "$out/plans-before.json" "$out/plans-after.json"; then
  echo "compare-behaviour: templates and demo results the same ($(wc -l <"$out/after.txt") normalized lines), plans and costs the same ($(wc -c <"$out/plans-after.json") bytes)"
else
  exit 1
fi
