#!/usr/bin/env python3
"""Times the pre-receive hook alone (no git push around it): runs
`git-deploybot hook pre-receive` in each world's server with the input git
would give for the ledger's last record (tip^ -> tip), RUNS times, interleaved,
and prints the medians. Usage: hook_only.py BIN DIR [RUNS]"""
import os
import statistics
import subprocess
import sys
import time

binary, root = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 200
worlds = ["ledger-100000", "ledger-10000"]


def rev(server: str, spec: str) -> str:
    return subprocess.run(["git", "-C", server, "rev-parse", spec], check=True,
                          capture_output=True, text=True).stdout.strip()


inputs = {}
for world in worlds:
    server = os.path.join(root, world, "server.git")
    old, new = rev(server, "refs/deploybot/control^"), rev(server, "refs/deploybot/control")
    inputs[world] = (server, f"{old} {new} refs/deploybot/control\n".encode())

times = {world: [] for world in worlds}
for _ in range(runs):
    for world in worlds:
        server, stdin = inputs[world]
        env = dict(os.environ, GIT_DIR=server)
        start = time.perf_counter()
        done = subprocess.run([binary, "hook", "pre-receive"], input=stdin, env=env,
                              cwd=server, capture_output=True)
        times[world].append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            sys.exit(f"the hook refused a valid record in {world}: {done.stderr.decode()}")
med = {w: statistics.median(t) for w, t in times.items()}
for world in worlds:
    print(f"hook alone  {world:<14} median {med[world]:6.2f} ms over {runs} runs")
print(f"hook alone: 100k / 10k = {med['ledger-100000'] / med['ledger-10000']:.3f}")
