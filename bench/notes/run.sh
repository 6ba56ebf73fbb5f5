#!/usr/bin/env bash
# A CI report (fetch, append one JSON line to the tip's note, atomic push)
# into servers whose notes ref holds 2,000 and 20,000 notes, with
# git-deploybot's hooks installed vs. no-op hooks, same run. The hook's cost
# must follow the push (one changed note), not the number of notes.
# Needs hyperfine and a release build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-notes}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
for n in 2000 20000; do
  w="$dir/notes-$n"
  if [ ! -d "$w/guarded.git" ]; then
    rm -rf "$w" && mkdir -p "$w"
    git init -q --bare -b main "$w/guarded.git"
    python3 "$here/gen.py" "$n" | git -C "$w/guarded.git" fast-import --quiet
    cp -a "$w/guarded.git" "$w/noop.git"
    "$bin" hook install "$w/guarded.git" >/dev/null
    for h in pre-receive reference-transaction; do
      printf '#!/bin/sh\ncat >/dev/null\n' > "$w/noop.git/hooks/$h" && chmod +x "$w/noop.git/hooks/$h"
    done
    for s in guarded noop; do
      git clone -q "$w/$s.git" "$w/$s-client"
      "$bin" -C "$w/$s-client" status >/dev/null
    done
    echo "world ready: $w ($(git -C "$w/guarded.git" notes --ref=deploybot/ci list | wc -l) notes)"
  fi
done
tip() { git -C "$dir/notes-$1/guarded.git" rev-parse main; }
report() { echo "$bin -C $dir/notes-$1/$2-client ci report --sha $(tip "$1") --check bench --status success"; }
hyperfine -N --warmup 2 --runs "${RUNS:-30}" --export-json "$dir/notes.json" \
  -n "2k notes, hook" "$(report 2000 guarded)" \
  -n "2k notes, no-op" "$(report 2000 noop)" \
  -n "20k notes, hook" "$(report 20000 guarded)" \
  -n "20k notes, no-op" "$(report 20000 noop)"
