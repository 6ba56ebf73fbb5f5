//! Signed ledger commits: writing them with the writer's own git signing
//! setup (`git commit-tree -S`: `gpg.format`, `user.signingkey`, as git signs
//! commits), and verifying an SSH signature against an allowed-signers file
//! (ssh-keygen's format) for a named principal, with `ssh-keygen -Y verify`.

use super::objects::Identity;
use super::{ObjectId, Repo};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::process::{Command, Stdio};

/// Why the writer cannot sign, naming the missing setting (None: it can try).
pub fn signing_setup_problem(repo: &Repo) -> Option<String> {
    let format = repo
        .config_string("gpg.format")
        .unwrap_or_else(|| "openpgp".to_owned());
    match format.as_str() {
        "ssh" if repo.config_string("user.signingkey").is_none() => Some(
            "control.signed is on but `user.signingkey` is not set; run `git config user.signingkey ~/.ssh/id_ed25519.pub`"
                .to_owned(),
        ),
        "ssh" | "openpgp" | "x509" => None,
        other => Some(format!(
            "control.signed is on but `gpg.format` is `{other}`; run `git config gpg.format ssh`"
        )),
    }
}

impl Repo {
    /// Writes a commit signed with the repository's git signing setup (no ref
    /// moves). Objects still in memory are flushed first, since git reads them.
    pub fn write_signed_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
        who: &Identity,
    ) -> Result<ObjectId> {
        if let Some(problem) = signing_setup_problem(self) {
            bail!("{problem}");
        }
        self.flush_objects()?;
        let mut cmd = self.git();
        cmd.arg("commit-tree").arg(tree.to_string()).arg("-S");
        for parent in parents {
            cmd.arg("-p").arg(parent.to_string());
        }
        cmd.env("GIT_AUTHOR_NAME", &who.name)
            .env("GIT_AUTHOR_EMAIL", &who.email)
            .env("GIT_COMMITTER_NAME", &who.name)
            .env("GIT_COMMITTER_EMAIL", &who.email)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("running git commit-tree -S")?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(message.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            bail!(
                "control.signed is on but git could not sign the record ({}); check `gpg.format` and `user.signingkey`",
                first.trim()
            );
        }
        let hex = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        super::parse_oid(&hex).context("git commit-tree printed no commit id")
    }

    /// Checks that `commit` carries a good SSH signature by a key that
    /// `allowed_signers` lists for `principal`. `Ok(Err(why))` names what is wrong.
    /// `at` (Unix seconds) is the time the key must have been valid at
    /// (`ssh-keygen -O verify-time`); None: now.
    pub fn verify_commit_signature(
        &self,
        commit: ObjectId,
        allowed_signers: &str,
        principal: &str,
        at: Option<i64>,
    ) -> Result<Result<(), String>> {
        let object = self.gix().find_commit(commit)?;
        let Some((signature, signed)) = object.signature()? else {
            return Ok(Err("it is not signed".to_owned()));
        };
        let signature = signature.to_string();
        if !signature.contains("BEGIN SSH SIGNATURE") {
            return Ok(Err(
                "its signature is not an SSH signature, which is what an allowed-signers file lists"
                    .to_owned(),
            ));
        }
        let mut data = Vec::new();
        signed.to_bstring().as_slice().clone_into(&mut data);
        let dir = scratch_dir()?;
        let allowed = dir.join("allowed_signers");
        let sig = dir.join("commit.sig");
        std::fs::write(&allowed, allowed_signers)?;
        std::fs::write(&sig, signature)?;
        let result = run_verify(&allowed, &sig, principal, &data, at);
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}

fn run_verify(
    allowed: &std::path::Path,
    sig: &std::path::Path,
    principal: &str,
    data: &[u8],
    at: Option<i64>,
) -> Result<Result<(), String>> {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-Y", "verify", "-n", "git"]);
    if let Some(at) = at {
        cmd.arg(format!("-Overify-time={}", verify_time(at)));
    }
    let mut child = cmd
        .arg("-f")
        .arg(allowed)
        .arg("-I")
        .arg(principal)
        .arg("-s")
        .arg(sig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running ssh-keygen -Y verify (install OpenSSH's ssh-keygen)")?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(data)?;
    let out = child.wait_with_output()?;
    if out.status.success() {
        return Ok(Ok(()));
    }
    Ok(Err(format!(
        "its signature is not by a key the allowed-signers file lists for `{}`",
        crate::core::json::printable(principal)
    )))
}

/// `YYYYMMDDHHMMSSZ` (UTC), as `ssh-keygen -O verify-time` reads it.
fn verify_time(at: i64) -> String {
    let rfc = crate::core::time::format_rfc3339(at);
    let digits: String = rfc.chars().filter(char::is_ascii_digit).take(14).collect();
    format!("{digits}Z")
}

/// A fresh private directory for the verifier's files.
fn scratch_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "deploybot-verify-{}-{:016x}",
        std::process::id(),
        super::store::random_u64()
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}
