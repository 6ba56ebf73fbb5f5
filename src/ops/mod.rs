//! Operations: what each command does, over a [`Session`](crate::session::Session),
//! returning typed outcomes that the CLI renders as text or JSON.

pub mod agent;
pub mod claim;
pub mod control;
pub mod control_ids;
pub mod coordinate;
pub mod deploy;
pub mod doctor;
pub mod follow;
pub mod hook_install;
pub mod init;
pub mod integrity;
pub mod judgement;
pub mod landing;
pub mod limits;
pub mod logs;
pub mod outcome;
pub mod policy;
pub mod prune;
pub mod queue;
pub mod react;
pub mod release;
pub mod repair;
pub mod report;
pub mod reuse;
pub mod runner;
pub mod stats;
pub mod status;
pub mod train;
pub mod unpause;
pub mod watch;
pub mod why;
pub mod worktree_run;

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Now as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    crate::core::time::format_rfc3339(now_seconds())
}

/// A new random record id (16 hex digits).
pub fn new_record_id() -> String {
    format!("{:016x}", crate::git::store::random_u64())
}
