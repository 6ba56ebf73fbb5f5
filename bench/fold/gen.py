#!/usr/bin/env python3
"""Writes a git fast-import stream for the fold benchmark: one commit on main
and RECORDS ledger commits written as an old or foreign tool would (record.json
only, no state.json snapshot), on refs/deploybot/control (KIND=control:
alternating pause and running records) or refs/deploybot/queue (KIND=queue:
requests, blocks, unblocks and cancels over 64 branches; KIND=requests:
a request of a new branch each, so the queue grows to RECORDS entries).
Usage: gen.py KIND RECORDS | git fast-import --quiet"""
import json
import sys

kind, records = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
t = 1_700_000_000
SHA = "1" * 40


def data(payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def commit(ref: str, mark: int, message: str, parent) -> None:
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    out.write(f"committer Bench <bench@example.com> {t + mark} +0000\n".encode())
    data(message.encode())
    if parent is not None:
        out.write(f"from :{parent}\n".encode())


commit("refs/heads/main", 1, "initial", None)
out.write(b"M 644 inline README\n")
data(b"hello\n")

ref = "refs/deploybot/control" if kind == "control" else "refs/deploybot/queue"
for i in range(records):
    mark = i + 2
    if kind == "control":
        if i % 2 == 0:
            record = {"schema": 1, "control_id": f"p{i}", "state": "paused",
                      "reason": f"ci-failed on {SHA}", "main_sha": SHA,
                      "actor": "bench", "at": "2026-01-01T00:00:00Z"}
        else:
            record = {"schema": 1, "control_id": f"r{i}", "state": "running",
                      "reason": "recovering", "resumes_control_id": f"p{i - 1}",
                      "actor": "bench", "at": "2026-01-01T00:00:00Z"}
    elif kind == "requests":
        record = {"schema": 1, "action": "request", "branch": f"b{i}",
                  "head_sha": f"{i:040x}", "actor": "bench", "at": "2026-01-01T00:00:00Z"}
    else:
        action = ["request", "request", "block", "unblock", "request", "cancel"][i % 6]
        record = {"schema": 1, "action": action, "branch": f"b{i % 64}",
                  "actor": "bench", "at": "2026-01-01T00:00:00Z"}
        if action == "request":
            record["head_sha"] = f"{i:040x}"
        if action == "block":
            record["reason"] = "bench"
    commit(ref, mark, f"{kind}: {i}", mark - 1 if i else None)
    out.write(b"M 644 inline record.json\n")
    data(json.dumps(record).encode())
