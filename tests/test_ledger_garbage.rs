//! Malformed commits in the control ledger: reported in one line, never fatal, never a state change.

mod common;
use common::World;

/// Appends a raw commit to the server's control ledger whose tree holds `files` (name, content).
fn append_raw(w: &World, files: &[(&str, Vec<u8>)]) -> String {
    let tip = w
        .server_ref("refs/deploybot/control")
        .expect("ledger exists");
    let mut entries = String::new();
    for (name, content) in files {
        let path = w.dir.path().join("blob.tmp");
        std::fs::write(&path, content).expect("write blob");
        let blob = w.server_git(&["hash-object", "-w", path.to_str().expect("utf8 path")]);
        entries.push_str(&format!("100644 blob {blob}\t{name}\n"));
    }
    let tree = if entries.is_empty() {
        w.server_git(&["hash-object", "-t", "tree", "-w", "/dev/null"])
    } else {
        let path = w.dir.path().join("tree.txt");
        std::fs::write(&path, &entries).expect("write tree");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("git mktree < {}", path.display()))
            .current_dir(&w.server)
            .output()
            .expect("mktree");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let commit = w.server_git(&["commit-tree", &tree, "-p", &tip, "-m", "foreign"]);
    w.server_git(&["update-ref", "refs/deploybot/control", &commit, &tip]);
    commit
}

fn garbage_case(files: Vec<(&str, Vec<u8>)>, expect_in_problem: &str) {
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.ok(&["pause", "--reason", "hold"]);
    let before = alice.status()["control"].clone();
    let commit = append_raw(&w, &files);
    let s = alice.status();
    assert_eq!(s["control"], before, "a malformed commit changes nothing");
    let problems = s["problems"].as_array().expect("problems list");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let line = problems[0].as_str().expect("a string");
    assert!(line.contains(&commit[..12]), "names the commit: {line}");
    assert!(
        line.contains(expect_in_problem),
        "says why ({expect_in_problem}): {line}"
    );
    assert!(!line.contains('\n'), "one line");
    let text = alice.ok(&["status"]);
    assert!(text.contains("warning: refs/deploybot/control"), "{text}");
    // The ledger still takes records, and the problem stays visible.
    alice.ok(&["pause", "--reason", "another hold"]);
    let s = alice.status();
    assert_eq!(s["control"]["reason"], "another hold");
    assert_eq!(s["problems"].as_array().expect("list").len(), 1);
}

#[test]
fn commit_without_record_json() {
    garbage_case(vec![("other.txt", b"x".to_vec())], "has no record.json");
}

#[test]
fn record_json_that_is_not_json() {
    garbage_case(
        vec![("record.json", b"{not json".to_vec())],
        "not a valid record",
    );
}

#[test]
fn record_json_with_wrong_types() {
    let record = br#"{"schema":"one","control_id":5,"state":"paused","reason":[]}"#;
    garbage_case(vec![("record.json", record.to_vec())], "not a valid record");
}

#[test]
fn record_with_a_ten_megabyte_reason() {
    let reason = "r".repeat(10 * 1024 * 1024);
    let record = format!(
        r#"{{"schema":1,"control_id":"big","state":"paused","reason":"{reason}","main_sha":"0123456789abcdef0123456789abcdef01234567"}}"#
    );
    garbage_case(
        vec![("record.json", record.into_bytes())],
        "over the 64 KiB limit",
    );
}

#[test]
fn record_with_an_unknown_state() {
    let record = br#"{"schema":1,"control_id":"x","state":"exploded","reason":"r"}"#;
    garbage_case(vec![("record.json", record.to_vec())], "not a valid record");
}
