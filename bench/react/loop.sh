#!/usr/bin/env bash
# The baseline: merge every requested branch with `git merge --no-ff`, then one push.
set -euo pipefail
cd "$1/loop"
git fetch -q origin
for b in $(git for-each-ref --format='%(refname:strip=3)' refs/remotes/origin/feature/); do
  git merge -q --no-ff --no-edit "origin/$b"
done
git push -q origin main
