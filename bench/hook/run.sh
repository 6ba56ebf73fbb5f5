#!/usr/bin/env bash
# The hook benchmark: times `git push` of one control record into servers with
# a 100,000-record (and a 10,000-record) control ledger and a 20,000-commit
# main, with git-deploybot's hooks vs a no-op hook, interleaved in the same run.
# Reports the median of RUNS pushes per case, then times the hook alone.
# Needs a release build:
#   cargo build --release && bench/hook/run.sh [DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-hook}
runs=${RUNS:-31}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
for n in 100000 10000; do
  [ -d "$dir/ledger-$n/server.git" ] || RECORDS=$n DEPLOYBOT="$bin" "$here/setup.sh" "$dir/ledger-$n"
done
noop='#!/bin/sh
cat >/dev/null
exit 0'
# install <world> hook|noop
install() {
  local hooks=$1/server.git/hooks
  rm -f "$hooks/pre-receive" "$hooks/reference-transaction"
  if [ "$2" = hook ]; then
    "$bin" hook install "$1/server.git" >/dev/null
  else
    printf '%s\n' "$noop" > "$hooks/pre-receive"
    printf '%s\n' "$noop" > "$hooks/reference-transaction"
    chmod +x "$hooks/pre-receive" "$hooks/reference-transaction"
  fi
}
# one_push <world> <label>: appends one record offline (untimed), times its push.
one_push() {
  local world=$1 i=$2
  "$bin" -C "$world/client" --offline pause --reason "bench $i" >/dev/null
  local start end
  start=$(date +%s%N)
  git -C "$world/client" push -q origin refs/deploybot/control
  end=$(date +%s%N)
  echo $(((end - start) / 1000))
}
results=$dir/results.txt
: > "$results"
for i in $(seq 1 "$runs"); do
  for n in 100000 10000; do
    for mode in hook noop; do
      install "$dir/ledger-$n" "$mode"
      echo "$n $mode $(one_push "$dir/ledger-$n" "$i-$n-$mode")" >> "$results"
    done
  done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = {}
for n, mode, us in rows:
    med.setdefault((n, mode), []).append(int(us) / 1000)
m = {k: statistics.median(v) for k, v in med.items()}
for (n, mode), v in sorted(m.items()):
    print(f"{n:>7} records  {mode:<5} median {v:7.2f} ms over {len(med[(n, mode)])} pushes")
print(f"100k: hook / no-op = {m[('100000','hook')] / m[('100000','noop')]:.3f}")
print(f" 10k: hook / no-op = {m[('10000','hook')] / m[('10000','noop')]:.3f}")
print(f"hook: 100k / 10k   = {m[('100000','hook')] / m[('10000','hook')]:.3f}")
print(f"no-op: 100k / 10k  = {m[('100000','noop')] / m[('10000','noop')]:.3f}  (git's own push cost)")
PY
# The hook alone, without git push around it: what the ledger's length costs the hook.
python3 "$here/hook_only.py" "$bin" "$dir" "${HOOK_RUNS:-200}"
