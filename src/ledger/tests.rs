use super::*;
use crate::core::control::{ControlRecord, ControlState};

fn pause(id: &str) -> ControlRecord {
    ControlRecord {
        control_id: id.into(),
        main_sha: None,
        actor: "t".into(),
        at: "2026-01-01T00:00:00Z".into(),
        ..crate::core::control::pause_bound_to("", &format!("hold {id}"))
    }
}

fn bare_repo() -> (tempfile::TempDir, Repo) {
    crate::git::bare_repo_for_tests()
}

#[test]
fn reading_state_reads_one_commit_however_long_the_ledger() {
    let (_dir, repo) = bare_repo();
    let who = Identity::for_actor("t");
    let records: Vec<ControlRecord> = (0..200).map(|i| pause(&format!("p{i}"))).collect();
    let mut folded = read_state::<ControlLedger>(&repo, None).expect("empty ledger");
    for chunk in records.chunks(7) {
        folded = append_commits::<ControlLedger>(&repo, &folded, chunk, &who).expect("append");
    }
    let read = read_state::<ControlLedger>(&repo, folded.tip).expect("read");
    assert_eq!(read.commits, 200);
    assert_eq!(read.state.control_id.as_deref(), Some("p199"));
    assert_eq!(
        read.folded_without_snapshot, 0,
        "the tip's snapshot is trusted: nothing walked"
    );
    // A batch snapshots only its last commit; reading from inside a batch
    // folds forward from the previous snapshot, a few commits at most.
    let inside = repo
        .find_commit_info(folded.tip.expect("tip"))
        .expect("tip")
        .parents[0];
    let read = read_state::<ControlLedger>(&repo, Some(inside)).expect("read");
    assert_eq!(read.state.control_id.as_deref(), Some("p198"));
    assert!(
        read.folded_without_snapshot <= 6,
        "{}",
        read.folded_without_snapshot
    );
}

#[test]
fn a_commit_without_a_snapshot_is_folded_from_the_last_trusted_one() {
    let (_dir, repo) = bare_repo();
    let who = Identity::for_actor("t");
    let empty = read_state::<ControlLedger>(&repo, None).expect("empty");
    let folded =
        append_commits::<ControlLedger>(&repo, &empty, &[pause("a")], &who).expect("append");
    // An older writer: record.json only, on top.
    let blob = repo
        .write_blob(&serde_json::to_vec(&pause("b")).expect("json"))
        .expect("blob");
    let tree = repo.write_flat_tree(&[(RECORD_FILE, blob)]).expect("tree");
    let foreign = repo
        .write_commit(tree, &[folded.tip.expect("tip")], "pause: b", &who)
        .expect("commit");
    let read = read_state::<ControlLedger>(&repo, Some(foreign)).expect("read");
    assert_eq!(read.state.control_id.as_deref(), Some("b"));
    assert_eq!((read.commits, read.folded_without_snapshot), (2, 1));
}

#[test]
fn a_snapshot_of_another_fold_version_is_folded_past_whatever_it_says() {
    let (_dir, repo) = bare_repo();
    let who = Identity::for_actor("t");
    let empty = read_state::<ControlLedger>(&repo, None).expect("empty");
    let folded =
        append_commits::<ControlLedger>(&repo, &empty, &[pause("a")], &who).expect("append");
    let record = repo
        .write_blob(&serde_json::to_vec(&pause("b")).expect("json"))
        .expect("blob");
    for version in [
        ControlLedger::FOLD_VERSION - 1,
        ControlLedger::FOLD_VERSION + 1,
    ] {
        // Bound to its commit like any snapshot, but of another version,
        // and saying something this version's fold would not.
        let other = Snapshot {
            schema: version,
            record_blob: record.to_string(),
            parent: folded.tip.expect("tip").to_string(),
            commits: 2,
            state: ControlState::default(),
            problems: Vec::new(),
        };
        let state = repo
            .write_blob(&serde_json::to_vec(&other).expect("json"))
            .expect("blob");
        let tree = repo
            .write_flat_tree(&[(RECORD_FILE, record), (STATE_FILE, state)])
            .expect("tree");
        let commit = repo
            .write_commit(tree, &[folded.tip.expect("tip")], "pause: b", &who)
            .expect("commit");
        let read = read_state::<ControlLedger>(&repo, Some(commit)).expect("read");
        assert_eq!(read.state.control_id.as_deref(), Some("b"), "v{version}");
        assert_eq!((read.commits, read.folded_without_snapshot), (2, 1));
    }
}
