#!/usr/bin/env python3
"""Times the commands of issue 24 on scale worlds (bench/scale/setup.sh):
median wall time of RUNS runs and the peak RSS of the command's own process
(os.wait4's ru_maxrss; git children it waits for are not counted), each run
on a fresh hard-linked copy of the world for the commands that write.

Usage: cargo build --release && python3 bench/scale/run.py DIR COMMITS...
       (builds DIR/<commits> with setup.sh when missing; RUNS=n, default 5;
        RUNS_AT_1M=n for worlds of a million commits or more; ONLY=name,name
        to time some rows; DEPLOYBOT=path/to/binary)
Prints one Markdown table: a row per command, a column per world."""
import os
import shutil
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
binary = os.path.abspath(os.environ.get("DEPLOYBOT", f"{root}/target/release/git-deploybot"))
runs = int(os.environ.get("RUNS", "5"))
base, sizes = sys.argv[1], [int(n) for n in sys.argv[2:]]
env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
           GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
           DEPLOYBOT=binary)


def world(n: int) -> str:
    path = f"{base}/{n}"
    if not os.path.isdir(f"{path}/clone"):
        subprocess.run([f"{here}/setup.sh", path, str(n)], check=True, env=env)
    return path


def measure(argv, cwd, stdin=None):
    """(seconds, peak RSS in MiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin else None,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if stdin:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed in {cwd}: {err}")
    return seconds, usage.ru_maxrss / 1024


def fresh(path: str) -> str:
    """A hard-linked copy of the world (git replaces files, never edits them)."""
    copy = f"{path}-run"
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-al", path, copy], check=True)
    # The clone's remote points at the pristine server: point it at the copy.
    subprocess.run(["git", "-C", f"{copy}/clone", "remote", "set-url", "origin", f"{copy}/server.git"],
                   check=True)
    return copy


def read_only(args):
    def run(path):
        return measure([binary, *args], f"{path}/clone")
    return run


def hook_one_record(path):
    """The pre-receive hook alone, fed one pushed queue record, as git runs it."""
    copy = fresh(path)
    clone = f"{copy}/clone"
    server = f"{copy}/server.git"
    # A record written by the tool, not yet pushed: block open/001 offline.
    subprocess.run(["git", "-C", clone, "fetch", "-q", "origin",
                    "+refs/deploybot/queue:refs/deploybot/queue"], check=True, env=env)
    subprocess.run([binary, "-C", clone, "--offline", "block", "open/001", "--reason", "bench"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    old = subprocess.run(["git", "-C", server, "rev-parse", "refs/deploybot/queue"],
                         capture_output=True, text=True, check=True).stdout.strip()
    new = subprocess.run(["git", "-C", clone, "rev-parse", "refs/deploybot/queue"],
                         capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["git", "-C", clone, "push", "-q", f"{server}", f"{new}:refs/bench/pushed"],
                   check=True, env=env)
    line = f"{old} {new} refs/deploybot/queue\n".encode()
    return measure([binary, "hook", "pre-receive"], server, stdin=line)


def react_merging_ten(path):
    copy = fresh(path)
    return measure([binary, "react"], f"{copy}/clone")


def tested_react_train_of_three(path):
    """A tested-landing react building a train of three candidates (the policy
    from a file: landing tested, depth 3, one entry each)."""
    copy = fresh(path)
    policy = f"{copy}/tested.toml"
    with open(policy, "w") as f:
        f.write("[queue]\nlanding = \"tested\"\nmax_batch_size = 1\nspeculation_depth = 3\n\n"
                "[pipeline]\nci_failure_grace_seconds = 0\n")
    return measure([binary, "react", "--config", policy], f"{copy}/clone")


def hook_push_of_main(path):
    """The pre-receive hook alone, fed what a merge-mode react pushes: main
    moved by 10 merges, their queue records (and the control ledger's start
    record when the ledger is new), as git runs it after receiving them."""
    copy = fresh(path)
    clone = f"{copy}/clone"
    server = f"{copy}/server.git"
    refs = ["refs/heads/main", "refs/deploybot/queue", "refs/deploybot/control"]
    for ref in refs[1:]:
        subprocess.run(["git", "-C", clone, "fetch", "-q", "origin", f"+{ref}:{ref}"], check=True, env=env)
    subprocess.run(["git", "-C", clone, "fetch", "-q", "origin", "+refs/notes/deploybot/*:refs/notes/deploybot/*"],
                   check=True, env=env)
    subprocess.run(["git", "-C", clone, "fetch", "-q", "origin", "+refs/heads/open/*:refs/heads/open/*"],
                   check=True, env=env)
    subprocess.run(["git", "-C", clone, "update-ref", "refs/heads/main", "origin/main"], check=True)
    subprocess.run([binary, "-C", clone, "--offline", "react"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    lines = []
    for ref in refs:
        old = subprocess.run(["git", "-C", server, "rev-parse", "-q", "--verify", ref],
                             capture_output=True, text=True).stdout.strip() or "0" * 40
        new = subprocess.run(["git", "-C", clone, "rev-parse", ref], capture_output=True, text=True,
                             check=True).stdout.strip()
        if old != new:
            subprocess.run(["git", "-C", clone, "push", "-q", server, f"{new}:refs/bench/{ref.replace('/', '-')}"],
                           check=True, env=env)
            lines.append(f"{old} {new} {ref}\n")
    if not any(line.endswith(" refs/heads/main\n") for line in lines):
        raise SystemExit(f"react merged nothing in {clone}")
    return measure([binary, "hook", "pre-receive"], server, stdin="".join(lines).encode())


def page_refresh(path):
    """`serve`: one GET of /status.json after its 5 s cache expired (a fetch
    and a gather); peak RSS of the serving process (VmHWM)."""
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], cwd=f"{path}/clone",
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/status.json"
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=60).read()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(5.5)
        start = time.perf_counter()
        urllib.request.urlopen(url, timeout=600).read()
        seconds = time.perf_counter() - start
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        return seconds, hwm / 1024
    finally:
        proc.terminate()
        proc.wait()


COMMANDS = [
    ("status", read_only(["status"])),
    ("status --json", read_only(["status", "--json"])),
    ("why open/000", read_only(["why", "open/000"])),
    ("ci pending", read_only(["ci", "pending"])),
    ("stats --since 30d", read_only(["stats", "--since", "30d"])),
    ("stats (the year)", read_only(["stats", "--since", "365d"])),
    ("hook: push of one queue record", hook_one_record),
    ("react merging 10 entries", react_merging_ten),
    ("react building a tested train of 3", tested_react_train_of_three),
    ("hook: push of main (react's 10 merges)", hook_push_of_main),
    ("queue page refresh (GET /status.json)", page_refresh),
]

only = [c for c in os.environ.get("ONLY", "").split(",") if c]
COMMANDS = [(name, run) for name, run in COMMANDS if not only or name in only]
# RUNS_AT_1M: fewer runs on the million-commit world for the slow rows.
runs_big = int(os.environ.get("RUNS_AT_1M", str(runs)))
worlds = {n: world(n) for n in sizes}
print("| command | " + " | ".join(f"{n:,} commits" for n in sizes) + " |")
print("| --- | " + " | ".join("---" for _ in sizes) + " |")
for name, run in COMMANDS:
    cells = []
    for n in sizes:
        samples = [run(worlds[n]) for _ in range(runs_big if n >= 1_000_000 else runs)]
        wall = statistics.median(s for s, _ in samples)
        rss = max(r for _, r in samples)
        cells.append(f"{wall * 1000:.0f} ms, {rss:.0f} MiB")
    print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
