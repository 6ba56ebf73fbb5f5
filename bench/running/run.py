#!/usr/bin/env python3
"""Running it for real, measured (issue 21): on loopback, with a release build.

  python3 bench/running/run.py latency [--samples 20]   # push that makes an entry ready -> main moves
  python3 bench/running/run.py idle [--minutes 10]      # an idle coordinator polling every 2 s
  python3 bench/running/run.py drain [--commits 100] [--agents 8] [--jobs 2] [--run-seconds 5]

Every world is a bare server with `hook install` (and `--wake` where said)
and real clones; every process is the real binary. Results are printed as
Markdown rows for bench/running/RESULTS.md.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("DEPLOYBOT", os.path.join(HERE, "..", "..", "target", "release", "git-deploybot"))
ENV = dict(
    os.environ,
    GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
    GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
    GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
)
POLICY = "[pipeline]\nci_failure_grace_seconds = 0\n"


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def bot(cwd, *args):
    return subprocess.run([BIN, *args], cwd=cwd, env=ENV, check=True,
                          capture_output=True, text=True).stdout


class World:
    """A bare server with the hooks, and clones made on demand."""

    def __init__(self, wake):
        self.dir = tempfile.mkdtemp(prefix="deploybot-bench-running-")
        self.server = os.path.join(self.dir, "server.git")
        git(self.dir, "init", "-q", "--bare", "-b", "main", "server.git")
        seed = self.clone("seed")
        with open(os.path.join(seed, ".deploybot.toml"), "w") as f:
            f.write(POLICY)
        git(seed, "add", ".deploybot.toml")
        git(seed, "commit", "-q", "-m", "policy")
        git(seed, "push", "-q", "origin", "main")
        flags = ["--wake"] if wake else []
        subprocess.run([BIN, "hook", "install", *flags, self.server], env=ENV, check=True,
                       capture_output=True)

    def clone(self, name):
        path = os.path.join(self.dir, name)
        git(self.dir, "clone", "-q", self.server, name)
        git(path, "config", "deploybot.actor", name)
        git(path, "config", "user.name", name)
        return path

    def main(self):
        # A read racing a ref update (packing refs) can fail once: read again.
        for _ in range(50):
            out = subprocess.run(["git", "rev-parse", "--verify", "-q", "refs/heads/main"],
                                 cwd=self.server, env=ENV, capture_output=True, text=True)
            if out.returncode == 0:
                return out.stdout.strip()
            time.sleep(0.01)
        raise SystemExit("cannot read the server's main")

    def close(self):
        if os.environ.get("KEEP"):
            print(f"kept {self.dir}", file=sys.stderr)
            return
        shutil.rmtree(self.dir, ignore_errors=True)


def branch(clone, name, i):
    git(clone, "fetch", "-q", "origin")
    git(clone, "checkout", "-q", "-B", name, "origin/main")
    with open(os.path.join(clone, f"f{i}.txt"), "w") as f:
        f.write(f"{i}\n")
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", f"work {i}")
    git(clone, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{name}")
    return git(clone, "rev-parse", "HEAD")


def start(clone, *args):
    # Output goes to files: a pipe nobody reads fills up and blocks the process.
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([BIN, *args], cwd=clone, env=ENV, stdout=out, stderr=err, text=True)
    proc.files = (out, err)
    return proc


def read_back(proc):
    texts = []
    for f in proc.files:
        f.seek(0)
        texts.append(f.read())
    return texts


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    out, err = read_back(proc)
    assert proc.returncode == 0, f"exit {proc.returncode}: {err}"
    return out, err


def latency(args):
    rows = []
    for wake, poll in ((True, 3600), (False, 2)):
        w = World(wake)
        try:
            dev, coord = w.clone("dev"), w.clone("coord")
            proc = start(coord, "coordinate", "--poll", str(poll), "--json")
            time.sleep(1.5)
            samples = []
            for i in range(args.samples):
                head = branch(dev, f"feature/{i}", i)
                bot(dev, "request", f"feature/{i}")
                before = w.main()
                time.sleep(0.3)  # the coordinator has seen the request (not ready yet)
                bot(dev, "ci", "report", "--sha", head, "--check", "CI", "--status", "success")
                pushed = time.monotonic()
                while w.main() == before:
                    if time.monotonic() - pushed > 60:
                        proc.kill()
                        proc.wait()
                        out, err = read_back(proc)
                        raise SystemExit(f"main never moved (sample {i}, wake {wake}):\n{out[-3000:]}\n{err[-3000:]}")
                    time.sleep(0.01)
                samples.append(time.monotonic() - pushed)
            out, _ = stop(proc)
            fetched = sum(1 for line in out.splitlines() if json.loads(line).get("fetched"))
            for line in out.splitlines():
                if json.loads(line).get("error"):
                    print("pass error:", json.loads(line)["error"], file=sys.stderr)
            label = "local wake (post-receive), --poll 3600" if wake else "no wake, --poll 2"
            median = statistics.median(samples)
            goal = 2.0 if wake else poll + 2.0
            rows.append(f"| {label} | {args.samples} | {median:.2f} s | {max(samples):.2f} s "
                        f"| {min(samples):.2f} s | {goal:.0f} s | {fetched} |")
        finally:
            w.close()
    print("| coordinator | samples | median | max | min | goal (median) | passes that fetched |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


def idle(args):
    w = World(False)
    try:
        coord = w.clone("coord")
        stamp = os.path.join(coord, ".git", "deploybot-sync", "origin.fetched")
        # /usr/bin/time-like accounting: the coordinator and every child it
        # waited for (git ls-remote, and the git-upload-pack it starts on the
        # server side of this local transport).
        before = os.times()
        proc = start(coord, "coordinate", "--poll", "2", "--json")
        time.sleep(5)
        fetched_at = os.stat(stamp).st_mtime_ns
        time.sleep(args.minutes * 60 - 5)
        out, _ = stop(proc)
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        lines = [json.loads(line) for line in out.splitlines()]
        fetches = sum(1 for v in lines if v.get("fetched"))
        still = os.stat(stamp).st_mtime_ns == fetched_at
        listings = args.minutes * 60 // 2
        print("| minutes | polls (ls-remote) | passes | passes that fetched | fetch stamp unchanged after start | CPU (coordinator + git children) | per poll |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(f"| {args.minutes} | ~{listings} | {len(lines)} | {fetches} (the start) | {still} "
              f"| {cpu:.2f} s | {1000 * cpu / listings:.1f} ms |")
    finally:
        w.close()


def drain(args):
    w = World(True)
    try:
        dev = w.clone("dev")
        main = w.main()
        bot(dev, "ci", "report", "--sha", main, "--check", "CI", "--status", "success")
        heads = []
        for i in range(args.commits):
            heads.append(branch(dev, f"work/{i}", i))
        # One request push per branch would take longest; these are the
        # commits the agents drain (requested heads waiting for CI).
        for i in range(args.commits):
            bot(dev, "request", f"work/{i}")
        log = os.path.join(w.dir, "ran.log")
        script = f"echo $DEPLOYBOT_SHA >> {log}; sleep {args.run_seconds}"
        clones = [w.clone(f"runner{i}") for i in range(args.agents)]
        started = time.monotonic()
        procs = [start(c, "runner", "--check", "CI", "--jobs", str(args.jobs), "--poll", "1",
                       "--json", "--", "sh", "-c", script) for c in clones]
        notes = lambda: git(w.server, "notes", "--ref=deploybot/ci", "list")
        while True:
            done = 0
            listed = set(line.split()[1] for line in notes().splitlines())
            for h in heads:
                if h in listed and '"success"' in git(w.server, "notes", "--ref=deploybot/ci", "show", h):
                    done += 1
            if done == len(heads):
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"only {done} of {len(heads)} drained")
            time.sleep(0.5)
        wall = time.monotonic() - started
        for i, p in enumerate(procs):
            out, _ = stop(p)
            with open(os.path.join(w.dir, f"agent{i}.jsonl"), "w") as f:
                f.write(out)
        ran = open(log).read().split()
        runs = {h: ran.count(h) for h in heads}
        twice = sum(1 for n in runs.values() if n > 1)
        skipped = sum(1 for n in runs.values() if n == 0)
        ideal = args.commits * args.run_seconds / (args.agents * args.jobs)
        print("| commits | agents x jobs | run time | wall time | ideal | ratio (goal <= 1.2) | run twice | skipped |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        print(f"| {args.commits} | {args.agents} x {args.jobs} | {args.run_seconds} s | {wall:.1f} s "
              f"| {ideal:.1f} s | {wall / ideal:.2f} | {twice} | {skipped} |")
    finally:
        w.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--samples", type=int, default=20)
    p = sub.add_parser("idle")
    p.add_argument("--minutes", type=int, default=10)
    p = sub.add_parser("drain")
    p.add_argument("--commits", type=int, default=100)
    p.add_argument("--agents", type=int, default=8)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--run-seconds", type=float, default=5)
    args = parser.parse_args()
    if not os.access(BIN, os.X_OK):
        sys.exit("build first: cargo build --release (or set DEPLOYBOT)")
    {"latency": latency, "idle": idle, "drain": drain}[args.what](args)


if __name__ == "__main__":
    main()
