#!/usr/bin/env bash
# Times one `git deploybot react` pass that builds and pushes a train of 3
# candidates of 10 entries (tested landing, max_batch_size 10,
# speculation_depth 3) against one pass that merges the same 30 entries onto
# main and pushes (merge mode, max_batch_size 30), on bench/react's kind of
# world (a 20,000-commit main). Every run starts from a fresh copy of the
# pristine server and coordinator clone; runs alternate between the two modes.
# No hyperfine: python's time.perf_counter_ns around the process (wall) and
# getrusage(RUSAGE_CHILDREN) (user+sys CPU of react and the git processes it
# waits for, which the server side of the push is); medians of RUNS.
# UNPACK_LIMIT=N sets the server's receive.unpackLimit (git's default: 100).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-/tmp/deploybot-bench-train}
bin=${DEPLOYBOT:-$here/../../target/release/git-deploybot}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -d "$dir/pristine-tested.git" ] || DEPLOYBOT="$bin" "$here/setup.sh" "$dir"
python3 - "$dir" "$bin" "${RUNS:-9}" "${UNPACK_LIMIT:-}" <<'PY'
import json, os, resource, shutil, statistics, subprocess, sys, time

d, binary, runs, unpack_limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
server, coord = f"{d}/server.git", f"{d}/coord"

def git(*args):
    subprocess.run(["git", *args], check=True)

def reset(mode):
    for p in (server, coord):
        shutil.rmtree(p, ignore_errors=True)
    subprocess.run(["cp", "-a", f"{d}/pristine-{mode}.git", server], check=True)
    subprocess.run(["cp", "-a", f"{d}/pristine-{mode}-coord", coord], check=True)
    git("-C", coord, "remote", "set-url", "origin", server)
    if unpack_limit:
        git("-C", server, "config", "receive.unpackLimit", unpack_limit)
    os.sync()

def one(mode):
    reset(mode)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    with open(f"{d}/react-{mode}.json", "w") as out:
        subprocess.run([binary, "-C", coord, "react", "--json"], stdout=out, check=True)
    wall = (time.perf_counter_ns() - start) / 1e6
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    return wall, cpu

one("merge"), one("tested")  # warm-up: page cache, one of each
times = {"merge": [], "tested": []}
for _ in range(runs):
    for mode in ("merge", "tested"):
        times[mode].append(one(mode))
        if mode == "tested":
            tries = subprocess.run(["git", "-C", server, "for-each-ref", "refs/heads/deploybot/try/"],
                                   capture_output=True, text=True, check=True).stdout.splitlines()
            assert len(tries) == 3, tries

merge = json.load(open(f"{d}/react-merge.json"))
tested = json.load(open(f"{d}/react-tested.json"))
assert len(merge["merged"]) == 30 and not merge.get("built"), merge
sizes = [len(c["entries"]) for c in tested["built"]]
assert sizes == [10, 10, 10] and not tested["merged"], tested
print(f"merge pass: state={merge['state']} merged={len(merge['merged'])}; "
      f"tested pass: state={tested['state']} built={sizes}, 3 try branches on the server")
print(f"server receive.unpackLimit: {unpack_limit or 'git default (100)'}; {runs} runs each, alternating")
med = {}
for mode, label in (("merge", "merge (30 merged)"), ("tested", "tested (3 x 10 built)")):
    wall = [w for w, _ in times[mode]]
    cpu = [c for _, c in times[mode]]
    med[mode] = (statistics.median(wall), statistics.median(cpu))
    print(f"{label}: wall median {med[mode][0]:.1f} ms (min {min(wall):.1f}, max {max(wall):.1f}); "
          f"CPU median {med[mode][1]:.1f} ms (min {min(cpu):.1f}, max {max(cpu):.1f})")
rw, rc = med["tested"][0] / med["merge"][0], med["tested"][1] / med["merge"][1]
print(f"ratio tested/merge (medians): wall {rw:.2f}, CPU {rc:.2f} "
      f"(goal <= 1.5 on wall: {'met' if rw <= 1.5 else 'NOT met'})")
PY
