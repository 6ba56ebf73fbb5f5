//! The hook decodes exactly as the readers do, and what it lets through is
//! what readers see (issue 10, items 6-8): one note per commit, strict
//! records, checked snapshots, unique control ids, bounded pushes, and folds
//! that readers pay for once. Real pushes into real bare repositories.

mod common;
use common::{Clone, World, guarded};

impl Clone {
    /// The server's tip of `full_ref`, fetched into this clone under the same name.
    fn fetch_ref(&self, full_ref: &str) -> String {
        self.git(&["fetch", "-q", "origin", &format!("+{full_ref}:{full_ref}")]);
        self.git(&["rev-parse", full_ref])
    }

    /// A notes commit on `notes_ref`'s tip that adds `text` at `path` (any
    /// fan-out), leaving every other note where it is.
    fn notes_commit_with(&self, notes_ref: &str, path: &str, text: &str) -> String {
        let fetched = self.try_git(&[
            "fetch",
            "-q",
            "origin",
            &format!("+{notes_ref}:{notes_ref}"),
        ]);
        let blob = self.git_stdin(&["hash-object", "-w", "--stdin"], text);
        if !fetched.status.success() {
            let empty = self.git_stdin(&["mktree"], "");
            let tree = self.tree_with(&empty, path, &blob);
            return self.git(&["commit-tree", &tree, "-m", "notes: by hand"]);
        }
        let tip = self.git(&["rev-parse", notes_ref]);
        let tree = self.tree_with(&format!("{tip}^{{tree}}"), path, &blob);
        self.git(&["commit-tree", &tree, "-p", &tip, "-m", "notes: by hand"])
    }

    /// The tree `base` with the blob `blob` at `path` (one or two levels).
    fn tree_with(&self, base: &str, path: &str, blob: &str) -> String {
        let listing = self.git(&["ls-tree", base]);
        let listing = listing.trim();
        match path.split_once('/') {
            None => {
                let lines = format!("{listing}\n100644 blob {blob}\t{path}\n");
                self.git_stdin(&["mktree"], lines.trim_start())
            }
            Some((dir, rest)) => {
                let sub_base = format!("{base}:{dir}");
                let exists = self.try_git(&["rev-parse", "-q", "--verify", &sub_base]);
                let sub = if exists.status.success() {
                    self.tree_with(&sub_base, rest, blob)
                } else {
                    self.git_stdin(&["mktree"], &format!("100644 blob {blob}\t{rest}\n"))
                };
                let kept: Vec<&str> = listing
                    .lines()
                    .filter(|l| !l.ends_with(&format!("\t{dir}")))
                    .collect();
                let lines = format!("{}\n040000 tree {sub}\t{dir}\n", kept.join("\n"));
                self.git_stdin(&["mktree"], lines.trim_start())
            }
        }
    }
}

fn ci_line(status: &str, at: &str) -> String {
    format!(r#"{{"check":"CI","status":"{status}","at":"{at}"}}"#)
}

/// Item 6: a second note for one commit at another path is refused by the
/// hook; where no hook guards, readers merge every path, so it hides nothing.
#[test]
fn a_second_note_for_one_commit_is_refused_and_readers_merge_every_path() {
    for hooked in [true, false] {
        let w = if hooked { guarded().0 } else { World::new() };
        let c = w.clone_as("runner");
        let main = w.server_ref("refs/heads/main").expect("main");
        c.report_ci(&main, "failure"); // written one level down: ab/cdef…
        let flat = c.notes_commit_with(
            "refs/notes/deploybot/ci",
            &main,
            &ci_line("success", "2020-01-01T00:00:00Z"),
        );
        let push = ["push", "origin", &format!("{flat}:refs/notes/deploybot/ci")];
        if hooked {
            w.assert_refused(&c, &push, &[], "one commit has one note");
        } else {
            c.assert_git_ok(&push, &[]);
            let s = c.status();
            let why = s["main"]["release"]["why"].as_str().expect("why");
            assert!(
                why.contains("failure"),
                "the failure at the other path still counts: {s}"
            );
        }
    }
}

/// Item 7: notes only on commits, in UTF-8, at git's own fan-out layout.
#[test]
fn notes_must_be_utf8_on_a_commit_at_a_git_path() {
    let (w, c) = guarded();
    let blob = c.git_stdin(&["hash-object", "-w", "--stdin"], "not a commit\n");
    let on_blob = c.notes_commit_with(
        "refs/notes/deploybot/ci",
        &blob,
        &ci_line("success", "2026-01-01T00:00:00Z"),
    );
    let push = [
        "push",
        "origin",
        &format!("{on_blob}:refs/notes/deploybot/ci"),
    ];
    w.assert_refused(&c, &push, &[], "not a commit");
    let main = w.server_ref("refs/heads/main").expect("main");
    // Rewrite the blob as Latin-1 bytes (not UTF-8).
    let path = c.path.join("latin1.txt");
    std::fs::write(&path, b"{\"check\":\"CI\",\"status\":\"success\",\"at\":\"2026-01-01T00:00:00Z\",\"x\":\"caf\xe9\"}\n")
        .expect("write");
    let blob = c.git(&["hash-object", "-w", path.to_str().expect("utf-8 path")]);
    let tree = c.tree_with(&c.git_stdin(&["mktree"], ""), &main, &blob);
    let commit = c.git(&["commit-tree", &tree, "-m", "latin-1"]);
    w.assert_refused(
        &c,
        &[
            "push",
            "origin",
            &format!("{commit}:refs/notes/deploybot/ci"),
        ],
        &[],
        "not valid UTF-8",
    );
    let odd_path = format!("{}/{}", &main[..3], &main[3..]);
    let odd = c.notes_commit_with(
        "refs/notes/deploybot/ci",
        &odd_path,
        &ci_line("success", "2026-01-01T00:00:00Z"),
    );
    w.assert_refused(
        &c,
        &["push", "origin", &format!("{odd}:refs/notes/deploybot/ci")],
        &[],
        "is not a note",
    );
}

const DUPLICATE: &str = r#"{"schema":1,"control_id":"dup-1","state":"paused","reason":"a","reason":"b","main_sha":null,"actor":"x","at":"2026-01-01T00:00:00Z"}"#;

/// Item 7: a record with duplicate keys is refused by the hook and called
/// malformed by readers: the two decode with the same code.
#[test]
fn duplicate_keys_are_refused_by_the_hook_and_malformed_to_readers() {
    let (w, c) = guarded();
    let commit = c.raw_commit(&[("record.json", DUPLICATE)], &[], "pause: dup");
    w.assert_refused(
        &c,
        &[
            "push",
            "origin",
            &format!("{commit}:refs/deploybot/control"),
        ],
        &[],
        "duplicate key `reason`",
    );
    let plain = World::new();
    let reader = plain.clone_as("reader");
    let commit = reader.raw_commit(&[("record.json", DUPLICATE)], &[], "pause: dup");
    reader.git(&[
        "push",
        "-q",
        "origin",
        &format!("{commit}:refs/deploybot/control"),
    ]);
    let s = reader.status();
    assert_eq!(s["control"]["state"], "running", "ignored: {s}");
    let problems = s["problems"].to_string();
    assert!(problems.contains("duplicate key"), "{problems}");
}

/// Item 7: text from a record never reaches a terminal raw.
#[test]
fn status_never_echoes_control_characters_from_a_record() {
    let w = World::new();
    let c = w.clone_as("reader");
    // A bad enum value: decoders quote it in their error, which readers show.
    let record = r#"{"schema":1,"control_id":"x","state":"\u001b[2Jpaused","reason":"boom"}"#;
    let commit = c.raw_commit(&[("record.json", record)], &[], "pause: esc");
    c.git(&[
        "push",
        "-q",
        "origin",
        &format!("{commit}:refs/deploybot/control"),
    ]);
    let out = c.run(&["status"]);
    assert!(out.status.success());
    assert!(
        !out.stdout.contains(&0x1b),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.stderr.contains(&0x1b));
    assert!(String::from_utf8_lossy(&out.stdout).contains("control characters"));
}

/// Item 7: a snapshot must carry the ledger's own problems, nothing invented.
#[test]
fn a_snapshot_with_invented_problems_is_refused() {
    let (w, c) = guarded();
    c.ok(&["pause", "--reason", "first"]);
    let _ = c.fetch_ref("refs/deploybot/control");
    c.ok(&["--offline", "pause", "--reason", "second"]);
    let tip = c.git(&["rev-parse", "refs/deploybot/control"]);
    let parent = c.git(&["rev-parse", &format!("{tip}^")]);
    let record = c.git(&["show", &format!("{tip}:record.json")]);
    let state = c.git(&["show", &format!("{tip}:state.json")]);
    let mut snapshot: serde_json::Value = serde_json::from_str(&state).expect("json");
    snapshot["problems"] = serde_json::json!(["refs/deploybot/control: all is well"]);
    let forged = c.raw_commit(
        &[
            ("record.json", &record),
            ("state.json", &snapshot.to_string()),
        ],
        &[&parent],
        "pause: second",
    );
    w.assert_refused(
        &c,
        &[
            "push",
            "origin",
            &format!("{forged}:refs/deploybot/control"),
        ],
        &[],
        "`problems`",
    );
    // The honest commit goes through.
    c.assert_git_ok(&["push", "origin", "refs/deploybot/control"], &[]);
}

/// Item 7: control ids are unique, across the ledger and within a push.
#[test]
fn a_reused_control_id_is_refused() {
    let (w, c) = guarded();
    c.ok(&["pause", "--reason", "first"]);
    let tip = c.fetch_ref("refs/deploybot/control");
    let record = c.git(&["show", &format!("{tip}:record.json")]);
    let replay = c.raw_commit(&[("record.json", &record)], &[&tip], "pause: replay");
    w.assert_refused(
        &c,
        &[
            "push",
            "origin",
            &format!("{replay}:refs/deploybot/control"),
        ],
        &[],
        "is already used",
    );
    let fresh = record.replace("\"control_id\"", "\"old_id\"").replacen(
        '{',
        "{\"control_id\":\"twice\",",
        1,
    );
    let one = c.raw_commit(&[("record.json", &fresh)], &[&tip], "pause: once");
    let two = c.raw_commit(&[("record.json", &fresh)], &[&one], "pause: twice");
    w.assert_refused(
        &c,
        &["push", "origin", &format!("{two}:refs/deploybot/control")],
        &[],
        "`twice` is already used",
    );
    c.assert_git_ok(
        &["push", "origin", &format!("{one}:refs/deploybot/control")],
        &[],
    );
}

/// A fast-import stream of `n` control records as a foreign tool writes them
/// (record.json only), on top of `parent` (or as a new ledger).
fn foreign_records(n: usize, parent: Option<&str>, tag: &str) -> String {
    let mut out = String::new();
    for i in 0..n {
        let record = format!(
            r#"{{"schema":1,"control_id":"{tag}-{i}","state":"paused","reason":"r{i}","actor":"x","at":"2026-01-01T00:00:00Z"}}"#
        );
        out.push_str(&format!(
            "commit refs/deploybot/control\nmark :{}\ncommitter X <x@example.com> {} +0000\ndata 1\nr\n",
            i + 1,
            1_700_000_000 + i
        ));
        match (i, parent) {
            (0, Some(p)) => out.push_str(&format!("from {p}\n")),
            (0, None) => {}
            _ => out.push_str(&format!("from :{i}\n")),
        }
        out.push_str(&format!(
            "M 644 inline record.json\ndata {}\n{record}\n",
            record.len()
        ));
    }
    out
}

/// Item 8: a push carries a bounded number of ledger records.
#[test]
fn a_push_of_too_many_ledger_records_is_refused() {
    let (w, c) = guarded();
    let stream = foreign_records(10_001, None, "bulk");
    c.git_stdin(&["fast-import", "--quiet"], &stream);
    w.assert_refused(
        &c,
        &["push", "origin", "refs/deploybot/control"],
        &[],
        "more than 10000 records",
    );
}

/// Item 8: a long ledger without snapshots is folded once, remembered in
/// the fold cache, and the next reader starts from there; the hook keeps its
/// own, so a push onto it is judged from the cache.
#[test]
fn a_long_unsnapshotted_ledger_is_folded_once() {
    let w = World::new();
    let c = w.clone_as("reader");
    let stream = foreign_records(300, None, "old");
    c.git_stdin(&["fast-import", "--quiet"], &stream);
    c.git(&["push", "-q", "origin", "refs/deploybot/control"]);
    let tip = w.server_ref("refs/deploybot/control").expect("ledger");
    let cache = w
        .server
        .join("deploybot-cache/fold-v1/control-fold1")
        .join(&tip[..2])
        .join(&tip[2..]);
    assert!(!cache.exists());
    let s = c.ok(&[
        "-C",
        w.server.to_str().expect("path"),
        "--offline",
        "status",
        "--json",
    ]);
    assert!(s.contains("old-299"), "{s}");
    assert!(cache.exists(), "the fold is remembered at the tip");
    // The cache holds exactly the fold: a reader from it sees the same state.
    let again = c.ok(&[
        "-C",
        w.server.to_str().expect("path"),
        "--offline",
        "status",
        "--json",
    ]);
    assert_eq!(s, again);
    // The hook judges a push onto it from its own fold (installed now: warmed).
    w.install_deploybot_hooks();
    let more = foreign_records(1, Some(&tip), "new");
    c.git_stdin(&["fast-import", "--quiet", "--force"], &more);
    c.assert_git_ok(&["push", "origin", "refs/deploybot/control"], &[]);
    assert_eq!(c.control("control_id"), "new-0");
}
