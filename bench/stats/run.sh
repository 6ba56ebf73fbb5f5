#!/usr/bin/env bash
# `stats` on a year of a busy repository: 20,000 merges on main, 50,000 queue
# records, 400 control records, CI and deploy notes on every main (built by
# gen.py with git fast-import). Prints the median wall time of RUNS (default
# 5) runs of `git deploybot -C <world> --offline stats --json`.
# Usage: bench/stats/run.sh [WORLD_DIR]   (DEPLOYBOT=<binary> times another build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
world=${1:-/tmp/deploybot-bench-stats}
runs=${RUNS:-5}
if [ -z "${DEPLOYBOT:-}" ]; then
  (cd "$here/../.." && cargo build --release --quiet)
  DEPLOYBOT=$here/../../target/release/git-deploybot
fi
[ -d "$world" ] || python3 "$here/gen.py" "$world" "${MERGES:-20000}" "${RECORDS:-50000}"
"$DEPLOYBOT" -C "$world" --offline stats --json > /dev/null   # warm the page cache
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$DEPLOYBOT" -C "$world" --offline stats --json > /dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "runs (ms): ${times[*]}"
echo "median: ${sorted[$(( runs / 2 ))]} ms"
