#!/usr/bin/env bash
# Times `git deploybot react` merging every requested branch against a shell
# loop of `git merge --no-ff` per branch plus one push, same data, same run.
# Needs hyperfine (Debian: apt-get install hyperfine) and a release build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-react}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -d "$dir/pristine-server.git" ] || DEPLOYBOT="$bin" "$here/setup.sh" "$dir"
reset="rm -rf $dir/server.git $dir/coord $dir/loop && cp -a $dir/pristine-server.git $dir/server.git && cp -a $dir/pristine-coord $dir/coord && cp -a $dir/pristine-loop $dir/loop && git -C $dir/coord remote set-url origin $dir/server.git && git -C $dir/loop remote set-url origin $dir/server.git"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$dir/react.json" \
  --prepare "$reset" \
  -n "git deploybot react" "$bin -C $dir/coord react --json > $dir/react-out.json" \
  -n "git merge --no-ff loop + push" "$here/loop.sh $dir"
# The last react run merged every branch exactly once.
python3 - "$dir/react-out.json" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
print(f"last react run: state={out['state']} merged={len(out['merged'])}")
PY
