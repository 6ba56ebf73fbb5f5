#!/usr/bin/env bash
# Builds the train benchmark's world in $1 (default /tmp/deploybot-bench-train):
# two bare servers that differ only in `.deploybot.toml` on main, each with a
# main of COMMITS commits (20,000) and BRANCHES independent green branches (30)
# all requested in the queue ledger (bench/react/gen.py's world), plus a
# pristine coordinator clone of each:
#   pristine-merge.git  / pristine-merge-coord   [queue] max_batch_size = 30
#   pristine-tested.git / pristine-tested-coord  [queue] landing = "tested",
#                        max_batch_size = 10, speculation_depth = 3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-train}
commits=${COMMITS:-20000}
branches=${BRANCHES:-30}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
python3 "$here/../react/gen.py" "$commits" "$branches" > world.fi
# gen.py writes `max_batch_size = BRANCHES`: the merge world as is; the tested
# world gets its policy block swapped (same bytes otherwise).
python3 - "$branches" world.fi world-tested.fi <<'PY'
import sys
branches, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
old = b"[queue]\nmax_batch_size = %d\n[pipeline]\nci_failure_grace_seconds = 0\n" % branches
new = (b'[queue]\nmax_batch_size = 10\nlanding = "tested"\nspeculation_depth = 3\n'
       b"[pipeline]\nci_failure_grace_seconds = 0\n")
data = open(src, "rb").read()
old_block, new_block = b"data %d\n" % len(old) + old, b"data %d\n" % len(new) + new
assert data.count(old_block) == 1, "gen.py's policy block not found"
open(dst, "wb").write(data.replace(old_block, new_block))
PY
for mode in merge tested; do
  stream=world.fi
  [ "$mode" = tested ] && stream=world-tested.fi
  git init -q --bare -b main "pristine-$mode.git"
  git -C "pristine-$mode.git" fast-import --quiet < "$stream"
  for b in $(seq -f '%03g' 0 $((branches - 1))); do
    "$bin" -C "pristine-$mode.git" --offline --actor bench request "feature/$b" >/dev/null
  done
  git clone -q "pristine-$mode.git" "pristine-$mode-coord"
  git -C "pristine-$mode-coord" config user.email coord@example.com
  "$bin" -C "pristine-$mode-coord" status >/dev/null
done
rm -f world.fi world-tested.fi
for mode in merge tested; do
  echo "$mode: $(git -C "pristine-$mode.git" rev-list --count main) commits on main; policy:" \
    "$(git -C "pristine-$mode.git" show main:.deploybot.toml | tr '\n' ' ')"
done
