//! Talking to the remote through the `git` CLI: mirror fetches and atomic pushes with leases.

use super::Repo;
use super::names;
use super::refs::{CasOutcome, RefUpdate};
use anyhow::{Context, Result, bail};

impl Repo {
    /// True when the repository has a remote called `name`.
    pub fn has_remote(&self, name: &str) -> bool {
        self.gix()
            .remote_names()
            .iter()
            .any(|n| AsRef::<[u8]>::as_ref(n) == name.as_bytes())
    }

    /// Mirrors the remote's branches, ledgers and notes into the local sync namespace.
    pub fn fetch_mirror(&self, remote: &str) -> Result<()> {
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
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("git fetch failed");
            bail!(
                "cannot fetch from remote `{remote}`: {why}; check the remote URL and network, or pass --offline"
            );
        }
        Ok(())
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
        if let Some(outcome) = outcome {
            if outcome == CasOutcome::Applied {
                let mirrors: Vec<(String, Option<_>)> = updates
                    .iter()
                    .map(|u| (names::sync_ref(remote, &u.name), u.new))
                    .collect();
                self.force_refs(&mirrors, "deploybot: pushed")?;
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

/// Reads `git push --porcelain` output; None when it holds no ref lines (a connection failure).
pub fn parse_push_porcelain(stdout: &str, stderr: &str, success: bool) -> Option<CasOutcome> {
    let ref_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.len() > 2 && l.as_bytes()[1] == b'\t')
        .collect();
    if ref_lines.is_empty() {
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
    fn no_ref_lines_is_a_connection_failure() {
        assert_eq!(parse_push_porcelain("", "fatal: unreachable", false), None);
    }
}
