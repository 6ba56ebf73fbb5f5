#!/usr/bin/env python3
"""fast-import stream: COMMITS commits on main, each with a CI result note
(git fast-import lays the notes tree out with its own fan-out).
Usage: gen.py COMMITS | git fast-import --quiet"""
import json
import sys

commits = int(sys.argv[1])
out = sys.stdout.buffer
t = 1_700_000_000


def data(payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


for i in range(1, commits + 1):
    out.write(f"commit refs/heads/main\nmark :{i}\n".encode())
    out.write(f"committer Bench <bench@example.com> {t + i} +0000\n".encode())
    data(f"commit {i}".encode())
    if i > 1:
        out.write(f"from :{i - 1}\n".encode())
    out.write(f"M 100644 inline files/f{i % 500}.txt\n".encode())
    data(f"{i}\n".encode())
out.write(f"commit refs/notes/deploybot/ci\ncommitter Bench <bench@example.com> {t + commits + 1} +0000\n".encode())
data(b"a CI result on every commit")
for i in range(1, commits + 1):
    line = json.dumps({"check": "CI", "status": "success", "at": "2026-01-01T00:00:00Z"})
    out.write(b"N inline :%d\n" % i)
    data(line.encode() + b"\n")
out.write(b"done\n")
