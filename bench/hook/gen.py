#!/usr/bin/env python3
"""Writes a git fast-import stream for the hook benchmark: COMMITS linear
commits on main and RECORDS control-ledger commits (alternating pause and
running records, record.json only, as a foreign writer would). setup.sh then
appends one record with the tool so the ledger tip carries a trusted state.json.
Usage: gen.py COMMITS RECORDS | git fast-import --quiet"""
import json
import sys

commits, records = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
t = 1_700_000_000
DUMMY = "1" * 40


def data(payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def commit(ref: str, mark: int, message: str, when: int, parent: int | None) -> None:
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    out.write(f"committer Bench <bench@example.com> {when} +0000\n".encode())
    data(message.encode())
    if parent is not None:
        out.write(f"from :{parent}\n".encode())


mark = 0
for i in range(commits):
    mark += 1
    commit("refs/heads/main", mark, f"commit {i}", t + i, mark - 1 if i else None)
    out.write(b"M 644 inline file.txt\n")
    data(f"{i}\n".encode())

first = mark + 1
for i in range(records):
    mark += 1
    if i % 2 == 0:
        record = {"schema": 1, "control_id": f"p{i}", "state": "paused",
                  "reason": f"ci-failed on {DUMMY}", "main_sha": DUMMY,
                  "actor": "bench", "at": "2026-01-01T00:00:00Z"}
    else:
        record = {"schema": 1, "control_id": f"r{i}", "state": "running",
                  "reason": "recovering", "resumes_control_id": f"p{i - 1}",
                  "actor": "bench", "at": "2026-01-01T00:00:00Z"}
    commit("refs/deploybot/control", mark, f"{record['state']}: {i}", t + i,
           mark - 1 if i else None)
    out.write(b"M 644 inline record.json\n")
    data(json.dumps(record).encode())
