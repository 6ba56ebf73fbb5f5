#!/usr/bin/env bash
# Builds the react benchmark's world in $1 (default /tmp/deploybot-bench-react):
# a bare server whose main has COMMITS commits (20,000), BRANCHES independent
# green branches (200) all requested in the queue ledger, and pristine copies
# of a coordinator clone (for react) and a working clone (for the git loop).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-react}
commits=${COMMITS:-20000}
branches=${BRANCHES:-200}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
git init -q --bare -b main pristine-server.git
python3 "$here/gen.py" "$commits" "$branches" | git -C pristine-server.git fast-import --quiet
for b in $(seq -f '%03g' 0 $((branches - 1))); do
  "$bin" -C pristine-server.git --offline --actor bench request "feature/$b" >/dev/null
done
git clone -q pristine-server.git pristine-coord
"$bin" -C pristine-coord status >/dev/null
git clone -q pristine-server.git pristine-loop
git -C pristine-coord config user.email coord@example.com
git -C pristine-loop config user.email loop@example.com
echo "world ready in $dir: $(git -C pristine-server.git rev-list --count main) commits on main, $branches requested branches"
