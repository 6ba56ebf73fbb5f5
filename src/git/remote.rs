//! Talking to the remote through the `git` CLI: mirror fetches and atomic pushes with leases.

use super::Repo;
use super::names;
use super::refs::{CasOutcome, RefUpdate};
use anyhow::{Context, Result, bail};

/// How many times a local step that lost a ref-lock race to another process
/// sharing this clone (a fetch into the mirror) is tried.
const LOCAL_LOCK_ATTEMPTS: u32 = 12;

/// True when git failed only because another process held a local ref lock
/// (`cannot lock ref`, `Unable to create '….lock': File exists`), not the remote.
pub fn is_local_lock_race(stderr: &str) -> bool {
    stderr
        .lines()
        .filter(|l| !l.starts_with("remote:"))
        .any(|l| {
            l.contains("cannot lock ref")
                || (l.contains(".lock") && l.contains("File exists"))
                || l.contains("Unable to create") && l.contains(".lock")
        })
}

/// True when the server's hook refused the push only because the pipeline is
/// paused (`pre-receive hook declined`, or `ref updates aborted by hook` from
/// the reference-transaction re-check): this tool moves the base branch only
/// after reading the pipeline running, so a pause landed while the push was
/// in flight. That is a race to retry from fresh state, not a policy refusal.
fn is_paused_crossing(stderr: &str) -> bool {
    let ours: Vec<&str> = stderr
        .lines()
        .map(|l| l.strip_prefix("remote:").unwrap_or(l).trim())
        .filter(|l| l.starts_with("deploybot: "))
        .collect();
    !ours.is_empty()
        && ours
            .iter()
            .all(|l| crate::messages::is_paused_base_refusal(l))
}

impl Repo {
    /// True when the repository has a remote called `name`.
    pub fn has_remote(&self, name: &str) -> bool {
        self.gix()
            .remote_names()
            .iter()
            .any(|n| AsRef::<[u8]>::as_ref(n) == name.as_bytes())
    }

    /// Mirrors the remote's branches, ledgers and notes into the local sync
    /// namespace. Commands sharing one clone fetch into the same mirror refs at
    /// once; a fetch that lost the race for a local ref lock is retried
    /// (bounded, with jitter), because the winner is writing the same data.
    pub fn fetch_mirror(&self, remote: &str) -> Result<()> {
        let mut attempt = 0;
        loop {
            let stderr = match self.fetch_mirror_once(remote)? {
                None => {
                    self.stamp_fetch(remote);
                    return Ok(());
                }
                Some(stderr) => stderr,
            };
            attempt += 1;
            if attempt < LOCAL_LOCK_ATTEMPTS && is_local_lock_race(&stderr) {
                std::thread::sleep(super::store::backoff(attempt));
                continue;
            }
            let why = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("git fetch failed");
            bail!(crate::messages::cannot_fetch(remote, why));
        }
    }

    /// Brings the mirror of `remote` up to date: lists the remote's refs
    /// first (one `git ls-remote`) and fetches only when they differ from
    /// the mirror. A fetch costs a negotiation and a connectivity walk that
    /// grow with the repository; a listing does not. Returns whether it fetched.
    pub fn refresh_mirror(&self, remote: &str) -> Result<bool> {
        let prefixes = names::MIRRORED_PREFIXES.map(String::from);
        // A listing that fails is left to the fetch, which says why.
        if self.mirror_is_current(remote, &prefixes).unwrap_or(false) {
            self.stamp_fetch(remote);
            return Ok(false);
        }
        self.fetch_mirror(remote).map(|()| true)
    }

    /// Where the time of the last successful mirror fetch from `remote` is kept
    /// (a fetch that changes nothing moves no ref, so refs cannot tell).
    fn fetch_stamp_path(&self, remote: &str) -> std::path::PathBuf {
        self.git_dir()
            .join("deploybot-sync")
            .join(format!("{remote}.fetched"))
    }

    /// Records now as the last successful fetch (best effort: it only dates the mirror).
    fn stamp_fetch(&self, remote: &str) {
        let path = self.fetch_stamp_path(remote);
        let now = crate::ops::now_seconds().to_string();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::create_dir_all(path.parent().expect("the stamp has a parent"))
            .and_then(|()| std::fs::write(&tmp, now))
            .and_then(|()| std::fs::rename(&tmp, &path));
    }

    /// When the mirror of `remote` was last fetched (Unix seconds), if ever.
    pub fn last_fetch(&self, remote: &str) -> Option<i64> {
        let text = std::fs::read_to_string(self.fetch_stamp_path(remote)).ok()?;
        text.trim().parse().ok()
    }

    /// Fetches only `refs` (full names, each present on the remote) into
    /// their mirrors: the cheap refresh after a lost compare-and-swap on them.
    pub fn fetch_mirror_refs(&self, remote: &str, refs: &[String]) -> Result<()> {
        let specs: Vec<String> = refs
            .iter()
            .map(|r| format!("+{r}:{}", names::sync_ref(remote, r)))
            .collect();
        let out = self
            .git()
            .args(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"])
            .arg(remote)
            .args(&specs)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .context("cannot run `git fetch`; is git on PATH?")?;
        if !out.status.success() {
            bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    }

    /// One `git fetch` into the mirror: None on success, else its stderr.
    fn fetch_mirror_once(&self, remote: &str) -> Result<Option<String>> {
        let mut cmd = self.git();
        cmd.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--prune",
            "--no-write-fetch-head",
        ])
        .arg(remote)
        .args(names::sync_refspecs(remote))
        .env("GIT_TERMINAL_PROMPT", "0");
        let out = cmd
            .output()
            .context("cannot run `git fetch`; is git on PATH?")?;
        Ok((!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned()))
    }

    /// Sets the mirrors of refs a push just moved, retrying a local lock race
    /// (a concurrent fetch holds the lock); as a last resort fetches the mirror.
    fn update_mirrors(
        &self,
        mirrors: &[(String, Option<super::ObjectId>)],
        remote: &str,
    ) -> Result<()> {
        for attempt in 1..LOCAL_LOCK_ATTEMPTS {
            if self.force_refs(mirrors, "deploybot: pushed").is_ok() {
                return Ok(());
            }
            std::thread::sleep(super::store::backoff(attempt));
        }
        self.fetch_mirror(remote)
    }

    /// Pushes every update in one atomic push, each with a lease on its expected value.
    pub fn push_atomic(&self, remote: &str, updates: &[RefUpdate]) -> Result<CasOutcome> {
        let mut cmd = self.git();
        cmd.args(["push", "--atomic", "--porcelain", "--no-verify"])
            .env("GIT_TERMINAL_PROMPT", "0")
            .arg(remote);
        for update in updates {
            let expected = update.expected.map(|o| o.to_string()).unwrap_or_default();
            cmd.arg(format!("--force-with-lease={}:{expected}", update.name));
        }
        for update in updates {
            match update.new {
                Some(new) => cmd.arg(format!("{new}:{}", update.name)),
                None => cmd.arg(format!(":{}", update.name)),
            };
        }
        let out = cmd
            .output()
            .context("cannot run `git push`; is git on PATH?")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let outcome = parse_push_porcelain(&stdout, &stderr, out.status.success());
        // A lock the server names that a killed push left behind is never
        // released by retrying: say so now (when its file can be seen).
        if let Some(CasOutcome::Stale(_)) = &outcome
            && let Some(lock) =
                super::locks::named_lock(&stderr).and_then(|path| super::locks::stale(&path))
        {
            bail!(super::store::WriteError::StaleLock(lock));
        }
        if let Some(outcome) = outcome {
            if outcome == CasOutcome::Applied {
                let mirrors: Vec<(String, Option<_>)> = updates
                    .iter()
                    .map(|u| (names::sync_ref(remote, &u.name), u.new))
                    .collect();
                self.update_mirrors(&mirrors, remote)?;
            }
            return Ok(outcome);
        }
        let why = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("git push failed");
        bail!(
            "cannot push to remote `{remote}`: {why}; check the remote URL and your access, then retry"
        )
    }
}

/// Reads `git push --porcelain` output; None when the push failed for a
/// reason that is neither contention nor a refusal: no ref lines (a connection
/// failure) or the server could not write (read-only, out of space).
pub fn parse_push_porcelain(stdout: &str, stderr: &str, success: bool) -> Option<CasOutcome> {
    let ref_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.len() > 2 && l.as_bytes()[1] == b'\t')
        .collect();
    let crossing = || CasOutcome::Stale("a pause landed while the push was in flight".into());
    if ref_lines.is_empty() {
        // The reference-transaction hook's veto ends receive-pack before it reports refs.
        let vetoed = stderr.contains("aborted by hook") && is_paused_crossing(stderr);
        return vetoed.then(crossing);
    }
    let server_io = [
        "unpacker error",
        "unpack failed",
        "Permission denied",
        "Read-only file system",
        "No space left",
    ];
    if !success && server_io.iter().any(|m| stderr.contains(m)) {
        return None;
    }
    let rejected: Vec<&str> = ref_lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('!'))
        .collect();
    if rejected.is_empty() && success {
        return Some(CasOutcome::Applied);
    }
    let reasons: Vec<&str> = rejected
        .iter()
        .filter_map(|l| l.rsplit_once('(').map(|(_, r)| r.trim_end_matches(')')))
        .collect();
    let hook = reasons
        .iter()
        .any(|r| r.contains("hook declined") || r.contains("declined"));
    if hook && is_paused_crossing(stderr) {
        return Some(crossing());
    }
    if hook {
        let mut lines: Vec<String> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("remote: "))
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        // Our own hook names each problem `deploybot: <ref>: …`; show just
        // those when present, every line of any other hook otherwise.
        if lines.iter().any(|l| l.starts_with("deploybot: ")) {
            lines.retain(|l| l.starts_with("deploybot: "));
        }
        if lines.is_empty() {
            lines.push("the server's pre-receive hook declined the push".into());
        }
        return Some(CasOutcome::Rejected(lines));
    }
    // Every way git reports that a ref moved under us or is locked right now.
    let contention = [
        "stale info",
        "fetch first",
        "non-fast-forward",
        "atomic push failed",
        "atomic transaction failed",
        "failed to update ref",
        "failed to lock",
        "cannot lock",
        "incorrect old value",
        "already exists",
    ];
    if reasons
        .iter()
        .any(|r| contention.iter().any(|c| r.contains(c)))
    {
        return Some(CasOutcome::Stale(reasons.join(", ")));
    }
    Some(CasOutcome::Rejected(
        rejected.iter().map(|l| l.to_string()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_lines_mean_applied() {
        let out = "To /srv/x.git\n \t1111:refs/deploybot/control\t[new reference]\nDone\n";
        assert_eq!(
            parse_push_porcelain(out, "", true),
            Some(CasOutcome::Applied)
        );
    }

    #[test]
    fn stale_lease_is_contention() {
        let out = "To /srv/x.git\n!\t1111:refs/deploybot/control\t[rejected] (stale info)\nDone\n";
        assert!(matches!(
            parse_push_porcelain(out, "", false),
            Some(CasOutcome::Stale(_))
        ));
    }

    #[test]
    fn hook_rejection_carries_remote_lines() {
        let out = "!\t1:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n";
        let err = "remote: deploybot: refs/heads/main: paused; unpause first\nremote: error: git-deploybot refused the push (1 problem(s) above)\n";
        assert_eq!(
            parse_push_porcelain(out, err, false),
            Some(CasOutcome::Rejected(vec![
                "deploybot: refs/heads/main: paused; unpause first".into()
            ])),
            "our hook's problem lines only, not its summary"
        );
        let other = "remote: policy says no\n";
        assert_eq!(
            parse_push_porcelain(out, other, false),
            Some(CasOutcome::Rejected(vec!["policy says no".into()])),
            "another hook's lines are all kept"
        );
    }

    #[test]
    fn a_pause_crossing_the_push_is_contention_not_a_refusal() {
        let paused = crate::messages::hook_base_paused("refs/heads/main", "c1", "operator stop");
        let vetoed = format!("{paused}\nfatal: ref updates aborted by hook\n");
        assert!(
            matches!(
                parse_push_porcelain("", &vetoed, false),
                Some(CasOutcome::Stale(_))
            ),
            "the reference-transaction re-check"
        );
        let out = "!\t1:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n";
        let declined = format!("remote: {paused}\n");
        assert!(
            matches!(
                parse_push_porcelain(out, &declined, false),
                Some(CasOutcome::Stale(_))
            ),
            "pre-receive saw the pause first"
        );
        let policy =
            format!("remote: {paused}\nremote: deploybot: refs/heads/main: forged lease; …\n");
        assert!(
            matches!(
                parse_push_porcelain(out, &policy, false),
                Some(CasOutcome::Rejected(_))
            ),
            "another reason alongside is a refusal"
        );
    }

    #[test]
    fn a_server_that_cannot_write_is_an_io_failure() {
        let out = "!\t1:refs/heads/main\t[remote rejected] (unpacker error)\n";
        let err = "error: remote unpack failed: unable to create temporary object directory\n";
        assert_eq!(parse_push_porcelain(out, err, false), None);
    }

    #[test]
    fn lock_races_are_recognised_only_on_local_lines() {
        assert!(is_local_lock_race(
            "error: cannot lock ref 'refs/deploybot-sync/origin/notes/deploybot/ci': Unable to create '/x/.git/refs/deploybot-sync/origin/notes/deploybot/ci.lock': File exists.\n"
        ));
        assert!(!is_local_lock_race(
            "remote: error: cannot lock ref 'refs/heads/main'\n"
        ));
        assert!(!is_local_lock_race(
            "fatal: '/nowhere' does not appear to be a git repository\n"
        ));
    }

    #[test]
    fn no_ref_lines_is_a_connection_failure() {
        assert_eq!(parse_push_porcelain("", "fatal: unreachable", false), None);
    }
}
