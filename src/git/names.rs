//! Every ref name the tool reads or writes, in one place (DESIGN.md, "Where state lives").

/// The control ledger.
pub const CONTROL: &str = "refs/deploybot/control";
/// The queue ledger.
pub const QUEUE: &str = "refs/deploybot/queue";
/// The verified watermark.
pub const VERIFIED: &str = "refs/deploybot/verified";
/// CI results as notes.
pub const NOTES_CI: &str = "refs/notes/deploybot/ci";
/// Deploy and verification results as notes.
pub const NOTES_DEPLOY: &str = "refs/notes/deploybot/deploy";
/// Recovery notes on failed base commits a recovery resumed.
pub const NOTES_RECOVERY: &str = "refs/notes/deploybot/recovery";
/// Receipts: one JSON line on each merged entry's requested head once its merge is verified.
pub const NOTES_RECEIPTS: &str = "refs/notes/deploybot/receipts";
/// Logs: the tail of each CI or deploy run's output, plain UTF-8 text, on the exact commit.
pub const NOTES_LOGS: &str = "refs/notes/deploybot/logs";
/// Prefix of every ref the tool owns besides branches.
pub const DEPLOYBOT_PREFIX: &str = "refs/deploybot/";
/// Prefix of every notes ref the tool owns.
pub const NOTES_PREFIX: &str = "refs/notes/deploybot/";
/// Where remote state is mirrored locally: `refs/deploybot-sync/<remote>/<ref without refs/>`.
pub const SYNC_PREFIX: &str = "refs/deploybot-sync/";

/// `refs/heads/<branch>`.
pub fn branch_ref(branch: &str) -> String {
    format!("refs/heads/{branch}")
}

/// The repair lease branch for a failed base sha: `<prefix>/<first 12 hex>`.
pub fn repair_branch(prefix: &str, failed_sha: &str) -> String {
    let short = &failed_sha[..failed_sha.len().min(12)];
    format!("{}/{short}", prefix.trim_end_matches('/'))
}

/// The local mirror of `full_ref` as fetched from `remote`.
pub fn sync_ref(remote: &str, full_ref: &str) -> String {
    let rest = full_ref.strip_prefix("refs/").unwrap_or(full_ref);
    format!("{SYNC_PREFIX}{remote}/{rest}")
}

/// The namespaces mirrored from a remote: every branch, the ledgers, the notes.
pub const MIRRORED_PREFIXES: [&str; 3] = ["refs/heads/", DEPLOYBOT_PREFIX, NOTES_PREFIX];

/// The fetch refspecs that mirror the remote's branches, ledgers and notes.
pub fn sync_refspecs(remote: &str) -> Vec<String> {
    MIRRORED_PREFIXES
        .iter()
        .map(|prefix| format!("+{prefix}*:{}*", sync_ref(remote, prefix)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_live_under_one_namespace_per_remote() {
        assert_eq!(
            sync_ref("origin", CONTROL),
            "refs/deploybot-sync/origin/deploybot/control"
        );
        assert_eq!(
            sync_refspecs("origin")[0],
            "+refs/heads/*:refs/deploybot-sync/origin/heads/*"
        );
    }

    #[test]
    fn repair_branch_uses_twelve_hex() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            repair_branch("deploybot/repair/", sha),
            "deploybot/repair/0123456789ab"
        );
    }
}
