#!/usr/bin/env bash
# Builds the scale world (issue 24) for COMMITS main commits into DIR:
#   DIR/server.git   the bare server, hook installed (its fold caches warmed)
#   DIR/clone        a clone (deploybot init), what the commands run in
# Reproducible from SEED (default 1). The queue ledger is written without
# snapshots by gen.py, then the tool appends one record (a block and its
# unblock) so its tip carries a snapshot, then a foreign tail of
# min(10,000, records/50) records without snapshots is appended.
# Usage: bench/scale/setup.sh DIR COMMITS [SEED]
#        (DEPLOYBOT=path/to/binary, default target/release/git-deploybot)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1 commits=$2 seed=${3:-1}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
rm -rf "$dir" && mkdir -p "$dir"
server="$dir/server.git"
git init -q --bare -b main "$server"
start=$(date +%s)
PART=main python3 "$here/gen.py" "$commits" "$seed" | git -C "$server" fast-import --quiet
git -C "$server" for-each-ref --format='%(objectname)' 'refs/heads/open/' > "$dir/open-heads"
PART=ledgers OPEN_HEADS="$dir/open-heads" python3 "$here/gen.py" "$commits" "$seed" |
  git -C "$server" fast-import --quiet
git clone -q "$server" "$dir/clone"
git -C "$dir/clone" config deploybot.actor coord
"$bin" -C "$dir/clone" init >/dev/null
"$bin" -C "$dir/clone" block open/000 --reason "bench: the tool writes a snapshot" >/dev/null
"$bin" -C "$dir/clone" unblock open/000 >/dev/null
from=$(git -C "$server" rev-parse refs/deploybot/queue)
PART=tail FROM="$from" python3 "$here/gen.py" "$commits" "$seed" |
  git -C "$server" fast-import --quiet --force
"$bin" hook install "$server" >/dev/null
# A running coordinator keeps the watermark at the newest verified main
# (react moves it there on its first pass): the world starts there too.
for i in 1 2 3; do
  if git -C "$server" notes --ref=deploybot/deploy show "main~$i" >/dev/null 2>&1; then
    git -C "$server" update-ref refs/deploybot/verified "$(git -C "$server" rev-parse "main~$i")"
    break
  fi
done
git -C "$dir/clone" fetch -q origin
echo "scale world of $commits commits in $dir: $(( $(date +%s) - start )) s;" \
  "queue $(git -C "$server" rev-list --count refs/deploybot/queue) records," \
  "control $(git -C "$server" rev-list --count refs/deploybot/control)," \
  "objects $(git -C "$server" count-objects -vH | awk '/size-pack/ {print $2 $3}')"
