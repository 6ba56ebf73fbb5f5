#!/usr/bin/env python3
"""Fold benchmark (issue 10, item 8): ledgers written by an old or foreign
tool (record.json only, no snapshot) must cost readers and the hook a linear
fold, once; the fold cache remembers it.

Measures, with the release binary (median of RUNS runs each):
  1. `status --offline --json` on unsnapshotted ledgers of 2k, 8k, 20k records
     (control: pause/running; requests: a new branch each, so the queue grows),
     cold (fold cache removed before each run) and warm (cache kept);
  2. `git push` of one unsnapshotted control record through the installed hook
     onto a 100,000-record ledger that no tool snapshotted, vs one whose tip
     the tool snapshotted.
Usage: cargo build --release && python3 bench/fold/run.py [DIR]
       (DEPLOYBOT=path/to/binary to time another build, RUNS=n)"""
import os
import shutil
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/deploybot-bench-fold"
binary = os.path.abspath(os.environ.get("DEPLOYBOT", f"{root}/target/release/git-deploybot"))
runs = int(os.environ.get("RUNS", "7"))
env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")


def sh(*args, **kw):
    return subprocess.run(args, check=True, env=env, stdout=subprocess.PIPE, **kw).stdout


def world(kind, n):
    path = f"{work}/{kind}-{n}.git"
    if not os.path.isdir(path):
        sh("git", "init", "-q", "--bare", "-b", "main", path)
        gen = subprocess.Popen([sys.executable, f"{here}/gen.py", kind, str(n)], stdout=subprocess.PIPE)
        subprocess.run(["git", "-C", path, "fast-import", "--quiet"], stdin=gen.stdout, check=True, env=env)
        gen.wait()
        sh("git", "-C", path, "gc", "-q")
    return path


def timed(fn, prepare=None):
    samples = []
    for _ in range(runs):
        if prepare:
            prepare()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def status(path):
    return lambda: sh(binary, "-C", path, "--offline", "status", "--json")


def drop_cache(path):
    return lambda: shutil.rmtree(f"{path}/deploybot-cache", ignore_errors=True)


os.makedirs(work, exist_ok=True)
print(f"binary: {binary}\nruns: {runs} (median)\n")
print("status --offline --json on a ledger with no snapshots")
for kind in ("control", "requests"):
    for n in (2000, 8000, 20000):
        path = world(kind, n)
        cold = timed(status(path), drop_cache(path))
        warm = timed(status(path))
        print(f"  {kind:<8} {n:>6} records: cold {cold:8.1f} ms   warm {warm:8.1f} ms")

print("\ngit push of one control record through the hook onto 100,000 records")
for snapshotted in (False, True):
    label = "tip snapshotted by the tool" if snapshotted else "no snapshot anywhere"
    base = world("control", 100000)
    server = f"{work}/server-{'snap' if snapshotted else 'foreign'}.git"
    client = f"{work}/client-{'snap' if snapshotted else 'foreign'}"
    shutil.rmtree(server, ignore_errors=True)
    shutil.rmtree(client, ignore_errors=True)
    sh("git", "clone", "-q", "--bare", "--mirror", base, server)
    if snapshotted:
        sh(binary, "-C", server, "--offline", "--actor", "bench", "pause", "--reason", "snapshot")
    sh(binary, "hook", "install", server)  # also folds the ledgers once into the cache
    sh("git", "clone", "-q", server, client)
    sh("git", "-C", client, "fetch", "-q", "origin", "+refs/deploybot/control:refs/deploybot/control")
    counter = [0]

    def append_foreign():
        # A record as a foreign tool writes it: record.json only, on the tip.
        counter[0] += 1
        tip = sh("git", "-C", client, "rev-parse", "refs/deploybot/control").decode().strip()
        record = ('{"schema":1,"control_id":"bench-%d-%d","state":"paused","reason":"bench",'
                  '"actor":"bench","at":"2026-01-01T00:00:00Z"}' % (os.getpid(), counter[0]))
        blob = subprocess.run(["git", "-C", client, "hash-object", "-w", "--stdin"], input=record.encode(),
                              check=True, stdout=subprocess.PIPE, env=env).stdout.decode().strip()
        tree = subprocess.run(["git", "-C", client, "mktree"], input=f"100644 blob {blob}\trecord.json\n".encode(),
                              check=True, stdout=subprocess.PIPE, env=env).stdout.decode().strip()
        commit = sh("git", "-C", client, "commit-tree", tree, "-p", tip, "-m", "pause: bench").decode().strip()
        sh("git", "-C", client, "update-ref", "refs/deploybot/control", commit)

    push = lambda: sh("git", "-C", client, "push", "-q", "origin", "refs/deploybot/control")
    ms = timed(push, append_foreign)
    print(f"  {label:<28}: median {ms:7.1f} ms per push")
