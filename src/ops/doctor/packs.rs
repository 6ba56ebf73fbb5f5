//! The biggest repositories: gix checks each pack index it opens by reading
//! its whole offset table, on every command; a multi-pack index is opened
//! without that scan (docs/scale.md, "a multi-pack index").

use super::{Level, Row, row};
use crate::git::pack::PackIndexes;

/// From this many objects in one pack on, doctor suggests a multi-pack index.
pub const MULTI_PACK_INDEX_FROM: u64 = 1_000_000;

/// The row for this clone's packs.
pub fn pack_row(indexes: PackIndexes) -> Row {
    let check = "pack index";
    let objects = indexes.biggest_pack;
    if indexes.multi_pack_index {
        return row(
            check,
            Level::Ok,
            "a multi-pack index covers the packs",
            None,
        );
    }
    if objects < MULTI_PACK_INDEX_FROM {
        let detail = format!("the biggest pack holds {objects} objects");
        return row(check, Level::Ok, detail, None);
    }
    row(
        check,
        Level::Warn,
        format!(
            "the biggest pack holds {objects} objects and no multi-pack index covers it: every command reads its whole index to open it"
        ),
        Some(
            "run `git multi-pack-index write` here (and on the server), and `git maintenance start` to keep it current"
                .to_string(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_pack_without_a_multi_pack_index_is_a_warning_with_its_fix() {
        let big = PackIndexes {
            biggest_pack: MULTI_PACK_INDEX_FROM,
            multi_pack_index: false,
        };
        let warned = pack_row(big);
        assert_eq!(warned.level, Level::Warn);
        assert!(
            warned
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("git multi-pack-index write"))
        );
        let covered = pack_row(PackIndexes {
            multi_pack_index: true,
            ..big
        });
        assert_eq!(covered.level, Level::Ok);
        let small = pack_row(PackIndexes {
            biggest_pack: MULTI_PACK_INDEX_FROM - 1,
            multi_pack_index: false,
        });
        assert_eq!(small.level, Level::Ok);
    }

    /// Read from a real repository: a pack's header counts its objects,
    /// and `git multi-pack-index write` is seen.
    #[test]
    fn the_counts_come_from_the_pack_index_headers() {
        let (dir, repo) = crate::git::bare_repo_for_tests();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .expect("git runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let blob = repo.write_blob(b"x").expect("blob");
        let tree = repo.write_flat_tree(&[("x", blob)]).expect("tree");
        let who = crate::git::objects::Identity::for_actor("test");
        let commit = repo.write_commit(tree, &[], "c", &who).expect("commit");
        git(&["update-ref", "refs/heads/main", &commit.to_string()]);
        assert_eq!(repo.pack_indexes(), PackIndexes::default());
        git(&["repack", "-a", "-d", "-q"]);
        assert_eq!(
            repo.pack_indexes().biggest_pack,
            3,
            "a blob, a tree, a commit"
        );
        git(&["multi-pack-index", "write"]);
        assert!(repo.pack_indexes().multi_pack_index);
    }
}
