//! Pure rules over plain data: which refs the hook governs, what a record,
//! a note line and a lease message must look like, and what "append-only"
//! means for a note's text.

use crate::core::control::is_full_sha;
use crate::core::time::parse_rfc3339;
use crate::git::names;
use crate::ops::repair::Lease;

/// Longest line the hook accepts in a note, in bytes.
pub const MAX_NOTE_LINE_BYTES: usize = 64 * 1024;

/// What a pushed ref is to deploybot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind {
    /// `refs/deploybot/control`.
    Control,
    /// `refs/deploybot/queue`.
    Queue,
    /// `refs/deploybot/verified`.
    Verified,
    /// Another ref under `refs/deploybot/`.
    OtherDeploybot,
    /// `refs/notes/deploybot/recovery`: recovery JSON lines.
    RecoveryNotes,
    /// `refs/notes/deploybot/receipts`: receipt JSON lines (written by the coordinator's `follow`).
    ReceiptNotes,
    /// `refs/notes/deploybot/logs`: runs' output tails, plain text (runners only).
    LogNotes,
    /// Another notes ref under `refs/notes/deploybot/`: result records.
    ResultNotes,
    /// The base branch.
    Base,
    /// A repair lease branch; the 12 hex of the failed sha its name carries.
    Lease(String),
    /// A try branch (`refs/heads/deploybot/try/<candidate_id>`); what follows
    /// the prefix, which may not be a valid candidate id.
    Try(String),
    /// A name in the tool's namespaces, in any letter case, that is none of
    /// the above (`refs/heads/deploybot`, `refs/heads/deploybot/try`,
    /// `refs/heads/DeployBot/x`, `refs/Deploybot/x`, …): such a branch would
    /// block the tool's own refs (a file where git needs a directory), so
    /// only a coordinator may delete one and nobody may create or move one.
    Reserved,
    /// Anything else: not deploybot's business.
    Unrelated,
}

impl RefKind {
    /// True for refs whose writers the policy's actor lists govern.
    pub fn is_governed(&self) -> bool {
        *self != RefKind::Unrelated
    }
}

/// Classifies `name` given the base branch's full ref and the lease prefix (`deploybot/repair`).
pub fn classify_ref(name: &str, base_ref: &str, repair_prefix: &str) -> RefKind {
    match name {
        names::CONTROL => return RefKind::Control,
        names::QUEUE => return RefKind::Queue,
        names::VERIFIED => return RefKind::Verified,
        names::NOTES_RECOVERY => return RefKind::RecoveryNotes,
        names::NOTES_RECEIPTS => return RefKind::ReceiptNotes,
        names::NOTES_LOGS => return RefKind::LogNotes,
        _ => {}
    }
    if name == base_ref {
        return RefKind::Base;
    }
    if name.starts_with(names::DEPLOYBOT_PREFIX) {
        return RefKind::OtherDeploybot;
    }
    if name.starts_with(names::NOTES_PREFIX) {
        return RefKind::ResultNotes;
    }
    let lease_prefix = format!(
        "{}/",
        names::branch_ref(repair_prefix.trim_end_matches('/'))
    );
    if let Some(rest) = name.strip_prefix(&lease_prefix) {
        let hex12 =
            rest.len() == 12 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hex12 {
            return RefKind::Lease(rest.to_string());
        }
    }
    if let Some(rest) = name.strip_prefix(TRY_PREFIX) {
        return RefKind::Try(rest.to_string());
    }
    if is_reserved(name, &lease_prefix) {
        return RefKind::Reserved;
    }
    RefKind::Unrelated
}

/// True when `name`, in any letter case, is the tool's namespace or a
/// prefix of it (`refs/heads/deploybot`, the lease prefix, their children,
/// `refs/deploybot…`, `refs/notes/deploybot…`): exact-case governed names
/// were classified before this is asked.
fn is_reserved(name: &str, lease_prefix: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let lease = lease_prefix.trim_end_matches('/').to_ascii_lowercase();
    let spaces = [
        "refs/heads/deploybot",
        "refs/deploybot",
        "refs/notes/deploybot",
        lease.as_str(),
    ];
    spaces.iter().any(|space| {
        lower == *space
            || lower.starts_with(&format!("{space}/"))
            || space.starts_with(&format!("{lower}/"))
    }) && !matches!(lower.as_str(), "refs/heads" | "refs/notes" | "refs")
}

/// Where try branches live (DESIGN: a candidate under test in tested landing).
pub const TRY_PREFIX: &str = "refs/heads/deploybot/try/";

/// Longest candidate id a try branch may carry.
pub const MAX_CANDIDATE_ID_CHARS: usize = 64;

/// True for a candidate id: 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn valid_candidate_id(id: &str) -> bool {
    (1..=MAX_CANDIDATE_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Largest note blob the hook accepts, in bytes.
pub const MAX_NOTE_BYTES: usize = 1024 * 1024;

/// The annotated object of a note path, if it is one as git lays notes out:
/// zero or more two-hex fan-out directories, then the rest of a 40-hex id.
pub fn note_target(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    let last = parts.pop()?;
    if parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let hex: String = parts.into_iter().chain([last]).collect();
    is_full_sha(&hex).then_some(hex)
}

/// The lines `new` adds to `old`, or `None` when a non-blank line of `old` is
/// missing from `new` (reordering, as `git notes merge -s cat_sort_uniq` does, is fine).
pub fn appended_lines(old: &str, new: &str) -> Option<Vec<String>> {
    let before: std::collections::HashSet<&str> = old
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let after: std::collections::HashSet<&str> = new
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if !before.is_subset(&after) {
        return None;
    }
    let mut added: Vec<String> = Vec::new();
    for line in new.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !before.contains(line) && !added.iter().any(|a| a == line) {
            added.push(line.to_string());
        }
    }
    Some(added)
}

/// Checks one line added to a result note (ci, deploy, …).
pub fn check_result_line(line: &str) -> Result<(), String> {
    if line.len() > MAX_NOTE_LINE_BYTES {
        return Err(format!("is over {} KiB", MAX_NOTE_LINE_BYTES / 1024));
    }
    let record = crate::core::results::validate_line(line)
        .map_err(|why| format!("is not a result record: {why}"))?;
    not_ahead_of_the_server(&record.at)
}

/// The server's clock bounds every writer's: a time (`at`) more than
/// [`crate::core::time::MAX_CLOCK_SKEW_SECONDS`] ahead of the server's own
/// clock is refused, so no record or result outranks later ones by a
/// clock that ran ahead. Readers skip the same (`core::release`).
pub fn not_ahead_of_the_server(at: &str) -> Result<(), String> {
    not_ahead_of(at, crate::ops::now_seconds())
}

/// [`not_ahead_of_the_server`] against a given clock (readers skip exactly
/// what this refuses: [`crate::core::time::ahead_of`] on the same parse).
pub fn not_ahead_of(at: &str, now: i64) -> Result<(), String> {
    match parse_rfc3339(at) {
        Some(seconds) if crate::core::time::ahead_of(seconds, now) => Err(format!(
            "`at` {at} is ahead of the server's clock ({}) by more than {} s; fix the writer's clock",
            crate::core::time::format_rfc3339(now),
            crate::core::time::MAX_CLOCK_SKEW_SECONDS
        )),
        _ => Ok(()),
    }
}

/// Checks one line added to the recovery notes: one JSON object.
pub fn check_recovery_line(line: &str) -> Result<(), String> {
    if line.len() > MAX_NOTE_LINE_BYTES {
        return Err(format!("is over {} KiB", MAX_NOTE_LINE_BYTES / 1024));
    }
    crate::core::json::strict_object(line.as_bytes())
        .map(|_| ())
        .map_err(|why| format!("is {why}"))
}

/// Checks one line added to the receipts notes: a strict JSON object with
/// every receipt field ([`crate::core::story::Receipt::from_line`]).
pub fn check_receipt_line(line: &str) -> Result<(), String> {
    if line.len() > MAX_NOTE_LINE_BYTES {
        return Err(format!("is over {} KiB", MAX_NOTE_LINE_BYTES / 1024));
    }
    crate::core::story::Receipt::from_line(line)
        .map(|_| ())
        .map_err(|why| format!("is not a receipt: {why}"))
}

/// Reads a lease commit's message (the whole message, or what follows its
/// first blank line) and checks its fields and that its sha matches the branch name.
pub fn parse_lease(message: &str, name_hex12: &str) -> Result<Lease, String> {
    let whole = serde_json::from_str::<Lease>(message.trim());
    let lease = match whole {
        Ok(lease) => lease,
        Err(e) => match message.split_once("\n\n") {
            Some((_, body)) => serde_json::from_str::<Lease>(body.trim())
                .map_err(|e| format!("the message is not lease JSON: {e}"))?,
            None => return Err(format!("the message is not lease JSON: {e}")),
        },
    };
    if lease.owner.trim().is_empty() || lease.owner.chars().any(char::is_control) {
        return Err("`owner` is empty or has control characters".to_string());
    }
    if !is_full_sha(&lease.main_sha) {
        return Err("`main_sha` is not 40 lowercase hex".to_string());
    }
    if !lease.main_sha.starts_with(name_hex12) {
        return Err(format!(
            "`main_sha` {} does not match the branch name",
            &lease.main_sha[..12]
        ));
    }
    if lease.failure_state.trim().is_empty() || lease.failure_state.chars().any(char::is_control) {
        return Err("`failure_state` is empty or has control characters".to_string());
    }
    if parse_rfc3339(&lease.claimed_at).is_none() {
        return Err("`claimed_at` is not an RFC 3339 time".to_string());
    }
    Ok(lease)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_fit_logs_within_the_servers_note_bound() {
        assert_eq!(crate::core::logs::NOTE_LIMIT_BYTES, MAX_NOTE_BYTES);
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn refs_are_classified_by_role() {
        let k = |n: &str| classify_ref(n, "refs/heads/main", "deploybot/repair");
        assert_eq!(k("refs/deploybot/control"), RefKind::Control);
        assert_eq!(k("refs/deploybot/queue"), RefKind::Queue);
        assert_eq!(k("refs/deploybot/verified"), RefKind::Verified);
        assert_eq!(k("refs/deploybot/other"), RefKind::OtherDeploybot);
        assert_eq!(k("refs/notes/deploybot/ci"), RefKind::ResultNotes);
        assert_eq!(k("refs/notes/deploybot/recovery"), RefKind::RecoveryNotes);
        assert_eq!(k("refs/notes/deploybot/receipts"), RefKind::ReceiptNotes);
        assert_eq!(k("refs/heads/main"), RefKind::Base);
        assert_eq!(
            k("refs/heads/deploybot/repair/0123456789ab"),
            RefKind::Lease("0123456789ab".into())
        );
        // The tool's namespaces are reserved beyond its exact names (issue 19).
        assert_eq!(k("refs/heads/deploybot/repair/fix-it"), RefKind::Reserved);
        assert_eq!(k("refs/heads/deploybot"), RefKind::Reserved);
        assert_eq!(k("refs/heads/DeployBot/try/c1"), RefKind::Reserved);
        assert_eq!(k("refs/Deploybot/control"), RefKind::Reserved);
        assert_eq!(k("refs/heads/deploybot-docs"), RefKind::Unrelated);
        assert_eq!(k("refs/heads/deploybot/try/c1"), RefKind::Try("c1".into()));
        assert_eq!(
            k("refs/heads/deploybot/try/a/b"),
            RefKind::Try("a/b".into())
        );
        assert_eq!(k("refs/heads/deploybot/trying"), RefKind::Reserved);
        assert_eq!(k("refs/heads/feature"), RefKind::Unrelated);
        assert_eq!(k("refs/notes/commits"), RefKind::Unrelated);
    }

    #[test]
    fn candidate_ids_are_short_and_plain() {
        assert!(valid_candidate_id("c1"));
        assert!(valid_candidate_id("2026-01-01T00.00_x"));
        assert!(valid_candidate_id(&"a".repeat(64)));
        assert!(!valid_candidate_id(&"a".repeat(65)));
        assert!(!valid_candidate_id(""));
        assert!(!valid_candidate_id("a/b"));
        assert!(!valid_candidate_id("a b"));
        assert!(!valid_candidate_id("é"));
    }

    #[test]
    fn records_must_be_small_strict_objects_without_control_characters() {
        use crate::ledger::{ControlLedger, MAX_RECORD_BYTES, parse_record};
        let ok = r#"{"schema":1,"control_id":"a","state":"paused","reason":"r"}"#;
        assert!(parse_record::<ControlLedger>(ok.as_bytes()).is_ok());
        assert!(parse_record::<ControlLedger>(b"[1]").is_err());
        assert!(parse_record::<ControlLedger>(b"{").is_err());
        let nested = r#"{"schema":1,"control_id":"a","state":"paused","x":{"y":["ok","bell"]}}"#;
        let nested = parse_record::<ControlLedger>(nested.as_bytes());
        assert!(nested.expect_err("nested control").contains("control"));
        let twice = r#"{"schema":1,"control_id":"a","control_id":"b","state":"paused"}"#;
        let twice = parse_record::<ControlLedger>(twice.as_bytes());
        assert!(twice.expect_err("duplicate").contains("duplicate key"));
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_RECORD_BYTES));
        assert!(parse_record::<ControlLedger>(big.as_bytes()).is_err());
    }

    #[test]
    fn notes_are_append_only_but_may_be_reordered() {
        assert_eq!(
            appended_lines("a\n", "a\n\nb\n"),
            Some(vec!["b".to_string()])
        );
        assert_eq!(
            appended_lines("b\na\n", "a\nb\nc\n"),
            Some(vec!["c".to_string()])
        );
        assert_eq!(appended_lines("a\nb\n", "a\n"), None, "b was removed");
        assert_eq!(appended_lines("", "x\nx\n"), Some(vec!["x".to_string()]));
    }

    #[test]
    fn note_paths_carry_forty_hex() {
        assert_eq!(note_target(SHA).as_deref(), Some(SHA));
        assert_eq!(
            note_target(&format!("{}/{}", &SHA[..2], &SHA[2..])).as_deref(),
            Some(SHA)
        );
        assert_eq!(note_target("README"), None);
    }

    #[test]
    fn note_lines_are_checked_by_kind() {
        let good = r#"{"check":"CI","status":"success","at":"2026-01-01T00:00:00Z"}"#;
        assert!(check_result_line(good).is_ok());
        assert!(check_result_line(r#"{"check":"CI","status":"green","at":"x"}"#).is_err());
        assert!(check_recovery_line(r#"{"anything":1}"#).is_ok());
        assert!(check_recovery_line("[1]").is_err());
        assert!(check_recovery_line(good).is_ok());
        assert!(
            check_receipt_line(good).is_err(),
            "a result is not a receipt"
        );
        let sha = SHA;
        let receipt = format!(
            r#"{{"branch":"a","head_sha":"{sha}","merge_sha":"{sha}","verified_sha":"{sha}","requested_at":null,"merged_at":"2026-01-01T00:00:00Z","verified_at":"2026-01-01T00:00:00Z"}}"#
        );
        assert!(check_receipt_line(&receipt).is_ok());
        assert!(check_receipt_line(&receipt.replace(r#""branch":"a","#, "")).is_err());
    }

    #[test]
    fn lease_messages_are_json_bound_to_the_branch() {
        let msg = format!(
            r#"{{"owner":"bob","main_sha":"{SHA}","failure_state":"ci-failed","claimed_at":"2026-01-01T00:00:00Z"}}"#
        );
        assert_eq!(parse_lease(&msg, &SHA[..12]).expect("valid").owner, "bob");
        assert!(parse_lease(&format!("claim\n\n{msg}"), &SHA[..12]).is_ok());
        assert!(parse_lease(&msg, "ffffffffffff").is_err(), "wrong branch");
        assert!(parse_lease("just words", &SHA[..12]).is_err());
        let bad_time = msg.replace("2026-01-01T00:00:00Z", "soon");
        assert!(parse_lease(&bad_time, &SHA[..12]).is_err());
    }
}
