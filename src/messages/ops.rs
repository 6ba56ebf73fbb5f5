//! Operations: bounds on durations, damaged ledger refs, reading a stale
//! mirror while the server is down, and runners stopped by a signal.

use super::short;

/// The largest number of seconds a flag or policy key accepts (one year):
/// far beyond any real wait, far below where time arithmetic overflows.
pub const MAX_SECONDS: u64 = 31_536_000;

/// A seconds flag (`--timeout`, `--poll`) outside 1..=[`MAX_SECONDS`].
pub fn flag_seconds_out_of_range(flag: &str, given: u64) -> String {
    format!("{flag} {given} is out of range; give 1 to {MAX_SECONDS} seconds (one year)")
}

/// A seconds policy key outside 1..=[`MAX_SECONDS`]; `origin` names the file.
pub fn key_seconds_out_of_range(origin: &str, key: &str, given: u64) -> String {
    format!(
        "{origin}: `{key}` = {given} is out of range; give 1 to {MAX_SECONDS} seconds (one year)"
    )
}

/// A ledger ref points at something that is not a commit (a blob or a tree).
/// `remote` is the remote it was read from (None: the local ref store).
pub fn ledger_not_a_commit(full_ref: &str, kind: &str, sha: &str, remote: Option<&str>) -> String {
    match remote {
        Some(remote) => format!(
            "{full_ref} on `{remote}` points at a {kind} ({}), not a ledger commit; on the server, point it back at its last ledger commit (`git update-ref {full_ref} <commit>`, see `git reflog {full_ref}` there)",
            short(sha)
        ),
        None => format!(
            "{full_ref} points at a {kind} ({}), not a ledger commit; point it back at its last ledger commit (`git update-ref {full_ref} <commit>`, see `git reflog {full_ref}`)",
            short(sha)
        ),
    }
}

/// True for the line the server hook writes when the base branch would move
/// while the pipeline is paused ([`super::hook_base_paused`]): pushed by this
/// tool, that is a pause that landed while the push was in flight, a race.
pub fn is_paused_base_refusal(line: &str) -> bool {
    line.starts_with("deploybot: refs/heads/")
        && line.contains(": the pipeline is paused (")
        && line.contains("so the base branch may not move")
}

/// `status --cached`: the warning on stderr, with the mirror's age.
pub fn cached_warning(remote: &str, age: Option<u64>) -> String {
    match age {
        Some(age) => format!(
            "warning: showing the state last fetched from `{remote}` {} ago, without fetching; it may be stale",
            human_age(age)
        ),
        None => format!(
            "warning: showing the state last fetched from `{remote}` (no fetch time recorded), without fetching; it may be stale"
        ),
    }
}

/// The line `status --cached` adds to its text output.
pub fn cached_line(remote: &str, fetched_at: Option<&str>, age: Option<u64>) -> String {
    match (fetched_at, age) {
        (Some(at), Some(age)) => format!(
            "cached from `{remote}`, fetched {at} ({} ago)",
            human_age(age)
        ),
        _ => format!("cached from `{remote}`, fetch time not recorded"),
    }
}

/// The remote cannot be fetched; `why` is git's first line.
pub fn cannot_fetch(remote: &str, why: &str) -> String {
    format!(
        "cannot fetch from remote `{remote}`: {why}; check the remote URL and network, or pass --offline; `git deploybot status --cached` shows the last fetched state"
    )
}

/// `--cached` with no remote in use.
pub fn cached_without_remote() -> String {
    "--cached reads the mirror of a remote, and no remote is in use; drop --cached (the local refs are current)".to_string()
}

/// A runner was stopped by a signal: what it did about the child and the worktree.
pub fn runner_stopped(signal: &str, check: &str, sha: &str) -> String {
    format!(
        "stopped by {signal}: the command for `{check}` on {} was stopped and its worktree removed; its claim was given back, so the commit is pending again",
        short(sha)
    )
}

/// Writing to stdout failed for another reason than a closed reader.
pub fn cannot_write_stdout(why: &str) -> String {
    format!("cannot write to stdout: {why}; check where the output goes (disk full?)")
}

/// Seconds as `42s`, `5m 3s`, `2h 10m`, `3d 4h`.
pub fn human_age(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// A ledger whose tip no longer contains the tip this clone saw last.
pub fn ledger_rewound(ledger: &str, seen: &str, now: Option<&str>) -> String {
    let now = now.map_or("gone".to_string(), |n| {
        format!("now at {}", super::short(n))
    });
    format!(
        "{ledger} was rewound: it was at {} and is {now}, which does not contain it; records were removed on the server (an admin past the hook?): compare `git log {}` with the ledger before trusting the state",
        super::short(seen),
        super::short(seen)
    )
}

/// The commit subject of a pruned logs history.
pub fn prune_subject(removed: usize, cutoff: i64) -> String {
    format!(
        "logs: pruned {removed} run log(s) written before {}",
        crate::core::time::format_rfc3339(cutoff)
    )
}

/// `--logs-older-than` that is not a duration.
pub fn bad_duration(text: &str) -> String {
    format!(
        "--logs-older-than `{}` is not a duration; give a whole number and a unit: 90d, 12h, 30m or 3600s",
        crate::core::json::printable(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_paused_line_is_recognised_as_a_race() {
        let line = super::super::hook_base_paused("refs/heads/main", "abc", "operator stop");
        assert!(is_paused_base_refusal(&line), "{line}");
        assert!(!is_paused_base_refusal(
            "deploybot: refs/deploybot/control: the policy names actors but the pusher is unknown"
        ));
    }

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(human_age(42), "42s");
        assert_eq!(human_age(303), "5m 3s");
        assert_eq!(human_age(7_800), "2h 10m");
        assert_eq!(human_age(273_600), "3d 4h");
    }
}
