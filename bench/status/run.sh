#!/usr/bin/env bash
# Reading current state must not grow with ledger length: times
# `git deploybot --offline status --json` on servers whose control ledger has
# 10,000 and 100,000 records (and 20,000 commits on main), built by the hook
# benchmark's setup. Needs hyperfine and a release build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-hook}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
for n in 10000 100000; do
  [ -d "$dir/ledger-$n/server.git" ] || RECORDS=$n DEPLOYBOT="$bin" "$here/../hook/setup.sh" "$dir/ledger-$n"
done
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$dir/status.json" \
  -n "status, 10k records" "$bin -C $dir/ledger-10000/server.git --offline status --json" \
  -n "status, 100k records" "$bin -C $dir/ledger-100000/server.git --offline status --json"
