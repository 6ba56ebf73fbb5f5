#!/usr/bin/env bash
# Builds one hook-benchmark world in $1: a bare server whose main has COMMITS
# commits (20,000) and whose control ledger has RECORDS records (100,000; the
# last written by the tool, so the tip carries a trusted snapshot), plus a
# client clone that has the ledger and can append records offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
commits=${COMMITS:-20000}
records=${RECORDS:-100000}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
git init -q --bare -b main server.git
python3 "$here/gen.py" "$commits" "$((records - 1))" | git -C server.git fast-import --quiet
# One record by the tool: it folds the foreign records once and writes the tip snapshot.
"$bin" -C server.git --offline --actor bench pause --reason "bench setup" >/dev/null
git -C server.git gc -q
git clone -q server.git client
git -C client fetch -q origin refs/deploybot/control:refs/deploybot/control
git -C client config user.email bench@example.com
git -C client config deploybot.actor bench
echo "world ready in $dir: $(git -C server.git rev-list --count main) commits on main," \
  "$(git -C server.git rev-list --count refs/deploybot/control) control records"
