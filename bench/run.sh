#!/usr/bin/env bash
# Builds the repo, then runs the default comparison: 1 GiB, 3 seeds, 1 MiB pieces, shoal against
# libtorrent and aria2. Extra arguments go to swarm-bench.mjs; a later option wins, so
# `bench/run.sh --runs 5 --clients shoal,aria2` changes only those two.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! npx tsc -b; then
  echo "bench/run.sh: the build failed (npx tsc -b); fix it first, shoal runs from its build output" >&2
  exit 2
fi
exec node bench/swarm-bench.mjs --size 1G --seeds 3 --piece 1M --clients shoal,libtorrent,aria2 "$@"
