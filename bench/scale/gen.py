#!/usr/bin/env python3
"""The scale world (issue 24), as a git fast-import stream, reproducible from
a seed. For COMMITS main commits it writes:

  - refs/heads/main: COMMITS commits (each changes one of 64 files), the last
    one adding .deploybot.toml;
  - refs/deploybot/queue: COMMITS/2 records over a year (requests, merged,
    blocks and cancels; 300 requests left open at the end), written as a
    tool writes records, without the snapshot (setup.sh has the tool write
    one at the tip, then appends the foreign tail);
  - refs/deploybot/control: COMMITS/10 records, pauses and recoveries;
  - refs/notes/deploybot/ci on every main commit, refs/notes/deploybot/deploy
    on every other, refs/notes/deploybot/logs (a short run log) on every main,
    refs/notes/deploybot/receipts on every merged head of the year;
  - 300 open request branches off main's tip, each with a green CI note.

In three parts (setup.sh runs them in order): PART=main writes main, the
open branches and the notes; PART=ledgers the queue (naming the open heads
read from the file OPEN_HEADS, one sha per line) and the control ledger;
PART=tail the foreign tail: TAIL queue records on top of FROM (the queue tip
the tool wrote), record.json only. The merged heads are not commits in the
stream, so their receipts are written as the notes tree itself (files at
`ab/cd/<rest>`, the fan-out git uses for that many notes), which is all a
notes ref is.

Usage: PART=main gen.py COMMITS [SEED] | git fast-import --quiet
       PART=ledgers OPEN_HEADS=file gen.py COMMITS [SEED] | git fast-import --quiet
       PART=tail FROM=<sha> gen.py COMMITS [SEED] | git fast-import --quiet"""
import json
import os
import random
import sys

commits = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
out = sys.stdout.buffer
YEAR = 365 * 24 * 3600
START = 1_764_547_200  # 2025-12-01T00:00:00Z: the year ends 2026-12-01
OPEN = 300


def at(t: int) -> str:
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def data(payload: bytes) -> None:
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


def commit(ref: str, mark: int, message: str, when: int, parent) -> None:
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    out.write(f"committer Bench <bench@example.com> {when} +0000\n".encode())
    data(message.encode())
    if parent is not None:
        out.write(f"from {parent}\n".encode())


def hexsha(n: int) -> str:
    """A made-up object id for `n`, spread over the id space as real ones
    are (a notes tree fans out by the id's first digits)."""
    import hashlib
    return hashlib.sha1(str(n).encode()).hexdigest()


def record_commit(ref: str, mark: int, record: dict, when: int, parent) -> None:
    commit(ref, mark, f"{record.get('action', record.get('state'))}: bench", when, parent)
    if parent is None:
        out.write(b"deleteall\n")
    out.write(b"M 100644 inline record.json\n")
    data(json.dumps(record, indent=2).encode())


queue_records = commits // 2
tail = int(os.environ.get("TAIL", str(min(10_000, max(queue_records // 50, 1)))))
head_records = queue_records - tail

if os.environ.get("PART") == "tail":
    parent = os.environ["FROM"]
    for i in range(tail):
        t = START + YEAR - tail + i
        branch = f"tail/{i}"
        record = {"schema": 1, "action": "request" if i % 2 == 0 else "cancel",
                  "branch": branch, "actor": "foreign", "at": at(t)}
        if i % 2 == 0:
            record["head_sha"] = hexsha(10_000_000 + i)
        else:
            record["branch"] = f"tail/{i - 1}"
        record_commit("refs/deploybot/queue", i + 1, record, t, parent)
        parent = f":{i + 1}"
    out.write(b"done\n")
    sys.exit(0)

part = os.environ.get("PART", "main")
mark = 0
step = max(YEAR // max(commits, 1), 1)
if part == "main":
    # main: COMMITS commits over the year, then the policy.
    main_marks = []
    for i in range(commits):
        mark += 1
        commit("refs/heads/main", mark, f"commit {i}", START + i * step // 1, f":{mark - 1}" if i else None)
        out.write(f"M 100644 inline files/f{i % 64:02d}.txt\n".encode())
        data(f"{i} {rng.random()}\n".encode())
        main_marks.append(mark)
    mark += 1
    commit("refs/heads/main", mark, "policy", START + YEAR, f":{mark - 1}")
    out.write(b"M 100644 inline .deploybot.toml\n")
    data(b"[queue]\nmax_batch_size = 10\n\n[pipeline]\nci_failure_grace_seconds = 0\n")
    main_marks.append(mark)
    tip = mark

    # 300 open request branches off main's tip.
    open_marks = []
    for b in range(OPEN):
        mark += 1
        commit(f"refs/heads/open/{b:03d}", mark, f"open {b}", START + YEAR + 1 + b, f":{tip}")
        out.write(f"M 100644 inline open/{b:03d}.txt\n".encode())
        data(f"open {b}\n".encode())
        open_marks.append(mark)

    def note_line(check: str, status: str, t: int) -> bytes:
        return (json.dumps({"check": check, "status": status, "at": at(t), "runner": "bench"}) + "\n").encode()


    def notes(ref: str, targets, line_of) -> None:
        global mark
        mark += 1
        commit(ref, mark, f"{ref}: bench", START + YEAR + 1000, None)
        for target, payload in targets:
            out.write(b"N inline %s\n" % target.encode())
            data(payload)
            _ = line_of


    # CI on every main commit (the tip is left to the runners), deploy on every other.
    notes("refs/notes/deploybot/ci",
          [(f":{m}", note_line("CI", "success", START + k * step + 60)) for k, m in enumerate(main_marks[:-1])]
          + [(f":{m}", note_line("CI", "success", START + YEAR)) for m in open_marks], None)
    notes("refs/notes/deploybot/deploy",
          [(f":{m}", note_line("Deploy", "success", START + k * step + 120))
           for k, m in enumerate(main_marks[:-1]) if k % 2 == 0], None)
    notes("refs/notes/deploybot/logs",
          [(f":{m}", f"== CI success \u00b7 run r{k} \u00b7 {at(START + k * step + 60)} ==\nrunning {k}\n".encode()
            + b"ok\n" * 20) for k, m in enumerate(main_marks[:-1])], None)

else:
    # The queue: request/merged pairs over the year, a block and a cancel now
    # and then, and the 300 open requests at the end.
    parent = None
    q_step = max(YEAR // max(head_records, 1), 1)
    merged_heads = []
    i = 0
    n = 0
    while n < head_records - OPEN:
        t = START + n * q_step
        branch = f"feature/{i}"
        head = hexsha(1_000_000 + i)
        roll = rng.random()
        records = [{"schema": 1, "action": "request", "branch": branch, "head_sha": head,
                    "actor": "dev", "at": at(t)}]
        if roll < 0.05:
            records.append({"schema": 1, "action": "block", "branch": branch, "reason": "failed CI",
                            "actor": "coord", "at": at(t + 1)})
            records.append({"schema": 1, "action": "cancel", "branch": branch,
                            "actor": "dev", "at": at(t + 2)})
        else:
            records.append({"schema": 1, "action": "merged", "branch": branch, "head_sha": head,
                            "merge_sha": hexsha(2_000_000 + i), "actor": "coord", "at": at(t + 1)})
            merged_heads.append((branch, head, hexsha(2_000_000 + i), t))
        for record in records[: head_records - OPEN - n]:
            mark += 1
            record_commit("refs/deploybot/queue", mark, record, START + n * q_step, parent)
            parent = f":{mark}"
            n += 1
        i += 1
    open_heads = open(os.environ["OPEN_HEADS"]).read().split()
    for b, head_sha in enumerate(open_heads):
        mark += 1
        record = {"schema": 1, "action": "request", "branch": f"open/{b:03d}",
                  "head_sha": head_sha, "actor": "dev", "at": at(START + YEAR + 1 + b)}
        record_commit("refs/deploybot/queue", mark, record, START + YEAR + 1 + b, parent)
        parent = f":{mark}"

    # Receipts: one per merged head, verified an hour after its merge, as the
    # notes tree itself (the heads are not commits in the stream).
    mark += 1
    commit("refs/notes/deploybot/receipts", mark, "receipts: bench", START + YEAR + 1000, None)
    for branch, head, merge, t in merged_heads:
        receipt = {"branch": branch, "head_sha": head, "merge_sha": merge, "verified_sha": merge,
                   "requested_at": at(t), "merged_at": at(t + 1), "verified_at": at(t + 3600)}
        out.write(f"M 100644 inline {head[:2]}/{head[2:4]}/{head[4:]}\n".encode())
        data((json.dumps(receipt, separators=(",", ":")) + "\n").encode())

    # The control ledger: pause / recovery pairs.
    parent = None
    c_records = max(commits // 10, 2)
    for c in range(c_records):
        mark += 1
        t = START + c * (YEAR // c_records)
        if c % 2 == 0:
            record = {"schema": 1, "control_id": f"p{c}", "state": "paused",
                      "reason": f"ci-failed on {hexsha(4_000_000 + c)}",
                      "main_sha": hexsha(4_000_000 + c), "actor": "coord", "at": at(t)}
        else:
            record = {"schema": 1, "control_id": f"r{c}", "state": "running",
                      "reason": "recovering", "resumes_control_id": f"p{c - 1}",
                      "recovered_main_sha": hexsha(4_000_000 + c - 1),
                      "recovered_reason": f"ci-failed on {hexsha(4_000_000 + c - 1)}",
                      "recovered_state": "ci-failed", "actor": "ops", "at": at(t)}
        record_commit("refs/deploybot/control", mark, record, t, parent)
        parent = f":{mark}"



out.write(b"done\n")
