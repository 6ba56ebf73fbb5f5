#!/usr/bin/env python3
"""Two builds of git-deploybot, run alternately on fresh hard-linked copies of
one world (so a slow spell of the machine hits both): the median, min and max
wall time of each. Usage: ab.py BIN_A BIN_B WORLD RUNS [ARGS...] (ARGS
default to `react`). Example, the previous commit against this tree:
  python3 bench/scale/ab.py /tmp/base-bin target/release/git-deploybot /tmp/scale/10000 15"""
import os
import statistics
import subprocess
import sys
import time

bins = {"A": os.path.abspath(sys.argv[1]), "B": os.path.abspath(sys.argv[2])}
world, runs, args = sys.argv[3], int(sys.argv[4]), sys.argv[5:] or ["react"]
env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
times = {k: [] for k in bins}
for _ in range(runs):
    for key, binary in bins.items():
        copy = world.rstrip("/") + "-run"
        subprocess.run(["rm", "-rf", copy], check=True)
        subprocess.run(["cp", "-al", world, copy], check=True)
        subprocess.run(["git", "-C", f"{copy}/clone", "remote", "set-url", "origin",
                        f"{copy}/server.git"], check=True)
        start = time.perf_counter()
        subprocess.run([binary, "-C", f"{copy}/clone", *args], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[key].append((time.perf_counter() - start) * 1000)
for key, values in times.items():
    print(f"{key} {bins[key]}: median {statistics.median(values):.1f} ms, "
          f"min {min(values):.1f}, max {max(values):.1f} ({runs} runs)")
