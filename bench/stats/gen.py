#!/usr/bin/env python3
"""Builds the stats benchmark world: a year of a busy repository, written with
`git fast-import` in two streams (the second needs the first's commit shas,
read back from its marks file).

1. main: MERGES merge commits, each with the previous main as first parent
   and the requested head (a commit of its own) as second.
2. refs/deploybot/queue: RECORDS records written as a foreign tool would
   (record.json only, no snapshot): a request and a merged record (merge_sha
   = its main) per merge, and for every 4th merge another branch requested
   and then blocked or cancelled; refs/deploybot/control: a pause on every
   100th main (a CI failure), each resumed by a running record; notes on
   every main via `N` commands: refs/notes/deploybot/ci (pending with a
   run_id, then success or failure) and refs/notes/deploybot/deploy (Deploy
   success on every main that passed CI).

Usage: gen.py DIR [MERGES] [RECORDS]   (creates DIR as a bare repository)"""
import json
import subprocess
import sys
import time

world = sys.argv[1]
merges = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
records = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
T0 = 1_764_374_400  # 2025-11-29T00:00:00Z: the year up to the day this was written
STEP = 365 * 86_400 // merges


def iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Stream:
    def __init__(self) -> None:
        self.parts = []

    def raw(self, text: str) -> None:
        self.parts.append(text.encode())

    def data(self, payload: bytes) -> None:
        self.parts.append(b"data %d\n" % len(payload))
        self.parts.append(payload)
        self.parts.append(b"\n")

    def commit(self, ref: str, mark, t: int, message: str, parents) -> None:
        self.raw(f"commit {ref}\n")
        if mark is not None:
            self.raw(f"mark :{mark}\n")
        self.raw(f"author Dev <dev@example.com> {t} +0000\n")
        self.raw(f"committer Bench <bench@example.com> {t} +0000\n")
        self.data(message.encode())
        for i, p in enumerate(parents):
            self.raw(f"{'from' if i == 0 else 'merge'} {p}\n")

    def run(self, *flags: str) -> None:
        subprocess.run(["git", "-C", world, "fast-import", "--quiet", *flags],
                       input=b"".join(self.parts), check=True)


def main_time(i: int) -> int:
    return T0 + i * STEP + 600


subprocess.run(["git", "init", "-q", "--bare", "-b", "main", world], check=True)
marks = f"{world}/bench-marks"

# 1. main and the requested heads.
s = Stream()
s.commit("refs/heads/main", 1, T0, "initial", [])
s.raw("M 644 inline README\n")
s.data(b"hello\n")
prev = ":1"
for i in range(merges):
    head, merge = 2 * i + 2, 2 * i + 3
    s.commit("refs/heads/bench-heads", head, main_time(i) - 3600, f"work {i}", [prev])
    s.raw(f"M 644 inline f{i % 97}.txt\n")
    s.data(f"{i}\n".encode())
    s.commit("refs/heads/main", merge, main_time(i), f"Merge b{i}", [prev, f":{head}"])
    prev = f":{merge}"
s.run(f"--export-marks={marks}")
sha = {}
for line in open(marks):
    m, oid = line.split()
    sha[int(m[1:])] = oid

# 2. ledgers and notes.
s = Stream()
written = 0
parent = None
mark = 10 * merges + 10


def record(rec: dict, message: str) -> None:
    global written, parent, mark
    if written >= records:
        return
    mark += 1
    s.commit("refs/deploybot/queue", mark, T0, message, [f":{parent}"] if parent else [])
    s.raw("M 644 inline record.json\n")
    s.data(json.dumps(rec).encode())
    parent = mark
    written += 1


def q(action: str, branch: str, at: int, **extra) -> dict:
    return {"schema": 1, "action": action, "branch": branch, "actor": "bench",
            "at": iso(at), **extra}


failed = set(range(50, merges, 100))
for i in range(merges):
    t = main_time(i)
    head, merge = sha[2 * i + 2], sha[2 * i + 3]
    record(q("request", f"b{i}", t - 120 - (i * 37) % 3000, head_sha=head), f"request: b{i}")
    record(q("merged", f"b{i}", t, head_sha=head, merge_sha=merge), f"merged: b{i}")
    if i % 4 == 0:
        record(q("request", f"x{i}", t - 60, head_sha=head), f"request: x{i}")
        if i % 8 == 0:
            record(q("block", f"x{i}", t - 30, reason="bench"), f"block: x{i}")
        else:
            record(q("cancel", f"x{i}", t - 30), f"cancel: x{i}")
# Fill up to RECORDS with blocks and unblocks of a parked branch.
while written < records:
    record(q("unblock" if written % 2 else "block", "parked", main_time(merges - 1),
             **({} if written % 2 else {"reason": "bench"})), "block: parked")

cparent = None
for n, i in enumerate(sorted(failed)):
    t, merge = main_time(i), sha[2 * i + 3]
    for rec in (
        {"schema": 1, "control_id": f"p{n}", "state": "paused", "reason": f"ci-failed on {merge}",
         "main_sha": merge, "actor": "bench", "at": iso(t + 1200)},
        {"schema": 1, "control_id": f"r{n}", "state": "running", "reason": "recovering",
         "resumes_control_id": f"p{n}", "recovered_main_sha": merge,
         "recovered_reason": f"ci-failed on {merge}", "actor": "bench", "at": iso(t + 1800)},
    ):
        mark += 1
        s.commit("refs/deploybot/control", mark, T0, f"{rec['state']}: {rec['control_id']}",
                 [f":{cparent}"] if cparent else [])
        s.raw("M 644 inline record.json\n")
        s.data(json.dumps(rec).encode())
        cparent = mark

for ref, kind in (("refs/notes/deploybot/ci", "ci"), ("refs/notes/deploybot/deploy", "deploy")):
    nparent = None
    for chunk in range(0, merges, 1000):
        mark += 1
        s.commit(ref, mark, T0, f"{kind} notes {chunk}", [f":{nparent}"] if nparent else [])
        for i in range(chunk, min(chunk + 1000, merges)):
            t = main_time(i)
            if kind == "ci":
                done = "failure" if i in failed else "success"
                lines = [
                    {"check": "CI", "status": "pending", "at": iso(t + 30), "run_id": f"run{i}"},
                    {"check": "CI", "status": done, "at": iso(t + 330 + i % 600),
                     "run_id": f"run{i}", "duration_seconds": 300 + i % 600},
                ]
            elif i in failed:
                continue
            else:
                lines = [{"check": "Deploy", "status": "success", "at": iso(t + 1500)}]
            s.raw(f"N inline :{2 * i + 3}\n")
            s.data("".join(json.dumps(line) + "\n" for line in lines).encode())
        nparent = mark
s.run(f"--import-marks={marks}")
subprocess.run(["git", "-C", world, "update-ref", "-d", "refs/heads/bench-heads"], check=True)
subprocess.run(["git", "-C", world, "gc", "-q", "--prune=now"], check=True)
print(f"{world}: {merges} merges, {written} queue records, {2 * len(failed)} control records")
