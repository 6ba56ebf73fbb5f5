#!/usr/bin/env python3
"""Past one server, simulated on loopback (issue 24, item 4).

  python3 bench/scale/sim.py [--coordinators 4] [--agents 32] [--jobs 1]
                             [--minutes 10] [--every 2] [--run-seconds 5]

One bare server with the hook; K coordinators (`coordinate --poll 1`, each in
its own clone, none woken: coordinators in different places only poll); N
runner agents (`runner --check CI`, each its own clone) running a CI command
of `--run-seconds`; one developer pushing a branch and requesting it every
`--every` seconds. Everything is the real release binary. After `--minutes`
every process gets SIGTERM and the bench reports, from the coordinators'
`--json` lines and the server's refs:

- entries landed, and per minute;
- pushes the server refused because another writer moved a ref first
  (`lost_races`), and passes that ran again because of them;
- passes that failed (each retried after a back-off);
- that no branch was merged twice (every `merged` of every coordinator,
  against the merges on the server's main).

Run it with --coordinators 1 for the comparison. Prints Markdown rows for
bench/scale/RESULTS.md.
"""
import argparse
import collections
import datetime
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "running"))
from run import World, bot, git, start, stop, read_back  # noqa: E402


def attempt(what, run, tries=5):
    """Runs `run` up to `tries` times (a push can lose a race for a ref lock
    on a busy server); False when every try failed, said on stderr."""
    for n in range(tries):
        try:
            run()
            return True
        except subprocess.CalledProcessError as e:
            if n == tries - 1:
                print(f"{what} failed: {(e.stderr or '').strip()}", file=sys.stderr)
            time.sleep(0.2 * (n + 1))
    return False


def developer(w, dev, every, until, requested, failures):
    i = 0
    while time.monotonic() < until:
        t0 = time.monotonic()
        name = f"work/{i}"
        git(dev, "checkout", "-q", "-B", name, "origin/main")
        with open(os.path.join(dev, f"f{i}.txt"), "w") as f:
            f.write(f"{i}\n")
        git(dev, "add", ".")
        git(dev, "commit", "-q", "-m", f"work {i}")
        pushed = attempt(f"push {name}", lambda: git(dev, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{name}"))
        if pushed and attempt(f"request {name}", lambda: bot(dev, "request", name)):
            requested.append((name, time.time()))
        else:
            failures.append(name)
        i += 1
        time.sleep(max(0.0, every - (time.monotonic() - t0)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coordinators", type=int, default=4)
    p.add_argument("--agents", type=int, default=32)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--every", type=float, default=2.0, help="seconds between requests")
    p.add_argument("--run-seconds", type=float, default=5)
    args = p.parse_args()

    w = World(False)
    try:
        dev = w.clone("dev")
        bot(dev, "ci", "report", "--sha", w.main(), "--check", "CI", "--status", "success")
        coords = [w.clone(f"coord{i}") for i in range(args.coordinators)]
        runners = [w.clone(f"runner{i}") for i in range(args.agents)]
        cpu0 = os.times()
        started = time.monotonic()
        until = started + args.minutes * 60
        procs_c = [start(c, "coordinate", "--poll", "1", "--json") for c in coords]
        procs_r = [start(r, "runner", "--check", "CI", "--jobs", str(args.jobs), "--poll", "2",
                         "--json", "--", "sleep", str(args.run_seconds)) for r in runners]
        requested, failures = [], []
        dev_thread = threading.Thread(target=developer, args=(w, dev, args.every, until, requested, failures))
        dev_thread.start()
        dev_thread.join()
        passes = []
        for proc in procs_c:
            out, _ = stop(proc)
            passes.append([json.loads(line) for line in out.splitlines() if line.startswith("{")])
        runs = 0
        for proc in procs_r:
            out, _ = stop(proc)
            runs += sum(1 for line in out.splitlines() if '"event":"finished"' in line)
        wall = time.monotonic() - started
        cpu1 = os.times()
        cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)

        merged = collections.Counter()
        merged_at = {}
        lost = retried = failed = count = 0
        for lines in passes:
            for rec in lines:
                count += 1
                lost += rec.get("lost_races", 0)
                retried += 1 if rec.get("lost_races", 0) else 0
                failed += 1 if rec.get("error") else 0
                end = datetime.datetime.fromisoformat(rec["at"]).timestamp() + rec["seconds"]
                for m in ((rec.get("react") or {}).get("merged") or []):
                    merged[m["branch"]] += 1
                    merged_at[m["branch"]] = end
        waits = sorted(merged_at[b] - t for b, t in requested if b in merged_at)
        p50 = statistics.median(waits) if waits else float("nan")
        twice = sum(1 for n in merged.values() if n > 1)
        on_main = int(git(w.server, "rev-list", "--count", "--merges", "--first-parent", "refs/heads/main"))
        landed = sum(merged.values())
        minutes = args.minutes
        print("| coordinators | runners | requests | passes | entries landed | per minute | request → merged p50 "
              "| lost races (pushes refused) | passes retried | passes failed | merged twice | merges on main | CPU (all processes) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        print(f"| {args.coordinators} | {args.agents} x {args.jobs} | {len(requested)} | {count} | {landed} "
              f"| {landed / minutes:.1f} | {p50:.1f} s | {lost} | {retried} | {failed} | {twice} | {on_main} "
              f"| {cpu:.0f} s in {wall:.0f} s |")
        print(f"runner runs finished: {runs}; developer pushes or requests that failed 5 times: {len(failures)}",
              file=sys.stderr)
        if twice or on_main != landed:
            raise SystemExit(f"merged twice: {twice}; merges on main {on_main} vs reported {landed}")
    finally:
        w.close()


if __name__ == "__main__":
    main()
