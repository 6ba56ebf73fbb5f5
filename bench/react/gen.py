#!/usr/bin/env python3
"""Writes a git fast-import stream: COMMITS linear commits on main, a policy
commit, BRANCHES independent branches off main, and a green CI note on each
branch head. Usage: gen.py COMMITS BRANCHES | git fast-import --quiet"""
import json
import sys

commits, branches = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
t = 1_700_000_000


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
    commit("refs/heads/main", mark, f"commit {i}", t + i, mark - 1 if mark > 1 else None)
    out.write(f"M 100644 inline files/f{i % 500}.txt\n".encode())
    data(f"{i}\n".encode())
mark += 1
commit("refs/heads/main", mark, "policy", t + commits, mark - 1)
policy = "[queue]\nmax_batch_size = %d\n[pipeline]\nci_failure_grace_seconds = 0\n" % branches
out.write(b"M 100644 inline .deploybot.toml\n")
data(policy.encode())
main_tip = mark
heads = []
for b in range(branches):
    mark += 1
    commit(f"refs/heads/feature/{b:03d}", mark, f"feature {b}", t + commits + 1 + b, main_tip)
    out.write(f"M 100644 inline features/b{b:03d}.txt\n".encode())
    data(f"feature {b}\n".encode())
    heads.append(mark)
mark += 1
commit("refs/notes/deploybot/ci", mark, "green CI for every feature head", t + commits + branches + 2, None)
for head in heads:
    line = json.dumps({"check": "CI", "status": "success", "at": "2026-01-01T00:00:00Z", "runner": "bench"})
    out.write(b"N inline :%d\n" % head)
    data(line.encode() + b"\n")
out.write(b"done\n")
