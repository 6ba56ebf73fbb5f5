//! The trivial merge against gix's full three-way merge: whenever the
//! trivial merge answers, the full merge must give the same tree.

use super::*;
use gix::bstr::ByteSlice;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Paths a tree may hold; `a`, `a/b` and `c` are directories or files.
const PATHS: [&str; 11] = [
    "f", "g", "a", "a/f", "a/g", "a/b", "a/b/f", "a/b/g", "c", "c/f", "c/g",
];
/// Directories an edit may remove whole.
const DIRS: [&str; 3] = ["a", "a/b", "c"];
/// File contents: small texts, some sharing lines so blob merges happen.
const CONTENTS: [&str; 4] = ["1\n2\n3\n", "1\n2\n3\n4\n", "0\n1\n2\n3\n", "x\n"];

/// A tree as files: path to (content, executable).
type Files = BTreeMap<String, (usize, bool)>;

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, usize, bool),
    Delete(usize),
    DeleteDir(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (0..PATHS.len(), 0..CONTENTS.len(), prop::bool::weighted(0.1))
            .prop_map(|(p, c, x)| Edit::Set(p, c, x)),
        1 => (0..PATHS.len()).prop_map(Edit::Delete),
        1 => (0..DIRS.len()).prop_map(Edit::DeleteDir),
    ]
}

/// Applies `edits`, keeping the files a valid tree (no file under a file).
fn apply(mut files: Files, edits: &[Edit]) -> Files {
    for edit in edits {
        match *edit {
            Edit::Set(p, c, x) => {
                let path = PATHS[p];
                let under = format!("{path}/");
                files.retain(|f, _| !f.starts_with(&under) && !path.starts_with(&format!("{f}/")));
                files.insert(path.to_string(), (c, x));
            }
            Edit::Delete(p) => {
                files.remove(PATHS[p]);
            }
            Edit::DeleteDir(d) => {
                let under = format!("{}/", DIRS[d]);
                files.retain(|f, _| !f.starts_with(&under));
            }
        }
    }
    files
}

fn write_tree_of(repo: &Repo, files: &Files) -> ObjectId {
    let gix = repo.gix();
    let mut editor =
        gix::objs::tree::Editor::new(gix::objs::Tree::empty(), &gix.objects, gix.object_hash());
    for (path, (content, executable)) in files {
        let blob = repo
            .write_blob(CONTENTS[*content].as_bytes())
            .expect("blob");
        let kind = if *executable {
            gix::objs::tree::EntryKind::BlobExecutable
        } else {
            gix::objs::tree::EntryKind::Blob
        };
        editor
            .upsert(path.as_bytes().split_str("/"), kind, blob)
            .expect("upsert");
    }
    editor
        .write(|tree| gix.write_object(tree).map(|id| id.detach()))
        .expect("tree")
}

/// Merges `theirs` into `ours` (both edits of `ancestor`) both ways:
/// (trivial merge's tree if it answered, full merge's tree if clean). The
/// full merge runs only when the trivial one answered: gix-merge 0.23 trips
/// a debug assertion on some inputs that conflict (ours changes file `a/b`,
/// theirs turns it into a directory), which release builds compile out.
fn both_ways(
    ancestor: &Files,
    ours: &[Edit],
    theirs: &[Edit],
) -> (Option<ObjectId>, Option<ObjectId>) {
    let (_dir, repo) = crate::git::memory_repo_for_tests();
    let who = crate::git::objects::Identity::for_actor("test");
    let trees = [
        write_tree_of(&repo, ancestor),
        write_tree_of(&repo, &apply(ancestor.clone(), ours)),
        write_tree_of(&repo, &apply(ancestor.clone(), theirs)),
    ];
    let base = repo
        .write_commit(trees[0], &[], "ancestor", &who)
        .expect("commit");
    let our = repo
        .write_commit(trees[1], &[base], "ours", &who)
        .expect("commit");
    let their = repo
        .write_commit(trees[2], &[base], "theirs", &who)
        .expect("commit");
    let trivial = repo
        .trivial_merge(trees[0], trees[1], trees[2])
        .expect("trivial");
    if trivial.is_none() {
        return (None, None);
    }
    let full = repo
        .with_merger(|m| m.full_merge(our, their))
        .expect("full merge")
        .ok();
    (trivial, full)
}

fn files(edits: &[Edit]) -> Files {
    apply(Files::new(), edits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whenever the trivial merge answers, the full merge is clean and
    /// gives the same tree.
    #[test]
    fn the_trivial_merge_agrees_with_the_full_merge(
        start in prop::collection::vec(edit(), 0..8),
        ours in prop::collection::vec(edit(), 0..4),
        theirs in prop::collection::vec(edit(), 0..4),
    ) {
        let (trivial, full) = both_ways(&files(&start), &ours, &theirs);
        if let Some(tree) = trivial {
            prop_assert_eq!(Some(tree), full);
        }
    }
}

#[test]
fn independent_changes_are_merged_trivially_and_as_the_full_merge_does() {
    let ancestor = files(&[
        Edit::Set(3, 0, false),
        Edit::Set(9, 0, false),
        Edit::Set(0, 1, false),
    ]);
    let cases = [
        // Each side adds a file in the same directory.
        (vec![Edit::Set(4, 1, false)], vec![Edit::Set(6, 2, false)]),
        // Ours changes a file, theirs removes a whole other directory.
        (vec![Edit::Set(3, 3, false)], vec![Edit::DeleteDir(2)]),
        // Theirs turns a directory ours did not touch into a file.
        (vec![Edit::Set(1, 1, false)], vec![Edit::Set(8, 3, true)]),
        // Theirs changes nothing.
        (vec![Edit::Delete(0)], vec![]),
    ];
    for (ours, theirs) in cases {
        let (trivial, full) = both_ways(&ancestor, &ours, &theirs);
        assert!(trivial.is_some(), "trivial for {ours:?} / {theirs:?}");
        assert_eq!(trivial, full, "{ours:?} / {theirs:?}");
    }
}

#[test]
fn changes_that_meet_are_left_to_the_full_merge() {
    let ancestor = files(&[Edit::Set(3, 0, false), Edit::Set(9, 0, false)]);
    let cases = [
        // Both change the same file (the full merge merges the lines).
        (vec![Edit::Set(3, 1, false)], vec![Edit::Set(3, 2, false)]),
        // Ours turns a directory into a file, theirs adds a file inside it.
        (vec![Edit::Set(2, 3, false)], vec![Edit::Set(4, 1, false)]),
        // Ours removes the directory theirs changes a file in.
        (vec![Edit::DeleteDir(2)], vec![Edit::Set(9, 1, false)]),
    ];
    for (ours, theirs) in cases {
        let (trivial, _) = both_ways(&ancestor, &ours, &theirs);
        assert_eq!(trivial, None, "{ours:?} / {theirs:?}");
    }
}

#[test]
fn a_head_that_changes_very_much_is_left_to_the_full_merge() {
    let (_dir, repo) = crate::git::memory_repo_for_tests();
    let empty = write_tree_of(&repo, &Files::new());
    let ours = write_tree_of(&repo, &files(&[Edit::Set(0, 0, false)]));
    let many = |n: usize| {
        let blob = repo.write_blob(b"same").expect("blob");
        let names: Vec<String> = (0..n).map(|i| format!("file{i}")).collect();
        let entries: Vec<(&str, ObjectId)> = names.iter().map(|n| (n.as_str(), blob)).collect();
        repo.write_flat_tree(&entries).expect("tree")
    };
    let at_most = repo.trivial_merge(empty, ours, many(512)).expect("merge");
    assert!(at_most.is_some(), "512 changes are merged trivially");
    assert_eq!(
        repo.trivial_merge(empty, ours, many(513)).expect("merge"),
        None
    );
}
