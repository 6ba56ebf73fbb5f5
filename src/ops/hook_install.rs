//! Installing the server-side hook scripts into a bare repository.

use crate::error::{CliError, CliResult};
use crate::git::Repo;
use crate::messages;
use std::path::{Path, PathBuf};

/// The line that marks a hook script as ours (so reinstalling may replace it).
pub const MARKER: &str = "# installed by `git deploybot hook install`";

/// The script for `hook` that execs `binary`. The reference-transaction script
/// hands only the `prepared` state to the binary and drains the input of the
/// others in the shell, so a push costs one process less.
pub fn hook_script(binary: &Path, hook: &str) -> String {
    let quoted = binary.display().to_string().replace('\'', r"'\''");
    let head = format!(
        "#!/bin/sh\n{MARKER}\n# git-deploybot: the server-side guard (see hooks/README.md).\n"
    );
    if hook == "reference-transaction" {
        return format!(
            "{head}if [ \"$1\" != prepared ]; then\n  while read -r _; do :; done\n  exit 0\nfi\nexec '{quoted}' hook {hook} \"$@\"\n"
        );
    }
    format!("{head}exec '{quoted}' hook {hook}\n")
}

/// The post-receive script of `--wake`: after every push it touches the
/// wake file that `coordinate` and `runner` on this host watch, so they act
/// at once instead of at their next poll. It reads its input (git expects
/// that) and never fails the push: the refs already moved.
pub fn wake_script() -> String {
    format!(
        "#!/bin/sh\n{MARKER}\n# git-deploybot: wakes `coordinate` and `runner` on this host (see hooks/README.md).\ncat >/dev/null\ntouch \"${{GIT_DIR:-.}}/{}\" 2>/dev/null\nexit 0\n",
        crate::git::watch::WAKE_FILE
    )
}

/// What to install.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallChoice {
    /// Replace hooks that are not ours.
    pub force: bool,
    /// Only pre-receive (no reference-transaction re-check).
    pub pre_receive_only: bool,
    /// Also the post-receive hook that wakes `coordinate` and `runner`.
    pub wake: bool,
}

/// Writes the hooks into the bare `repository`, execing `binary`; returns the
/// paths written. Refuses (writing nothing) to replace a hook that is not ours
/// unless `force`.
pub fn install(repository: &Path, binary: &Path, choice: InstallChoice) -> CliResult<Vec<PathBuf>> {
    let InstallChoice {
        force,
        pre_receive_only,
        wake,
    } = choice;
    let display = repository.display().to_string();
    let repo = Repo::open(repository)
        .map_err(|_| CliError::usage(messages::hook_install_not_bare(&display)))?;
    if repo.workdir().is_some() {
        return Err(CliError::usage(messages::hook_install_not_bare(&display)));
    }
    let hooks_dir = repo.git_dir().join("hooks");
    std::fs::create_dir_all(&hooks_dir)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", hooks_dir.display())))?;
    let mut hooks = vec!["pre-receive"];
    if !pre_receive_only {
        hooks.push("reference-transaction");
    }
    if wake {
        hooks.push("post-receive");
    }
    // Refuse before writing anything, so a refusal leaves every hook as it was.
    for hook in &hooks {
        let path = hooks_dir.join(hook);
        if let Ok(existing) = std::fs::read_to_string(&path)
            && !existing.contains(MARKER)
            && !force
        {
            return Err(CliError::usage(messages::hook_install_exists(
                &path.display().to_string(),
            )));
        }
    }
    let mut written = Vec::new();
    for hook in &hooks {
        let path = hooks_dir.join(hook);
        let script = match *hook {
            "post-receive" => wake_script(),
            _ => hook_script(binary, hook),
        };
        write_executable(&path, &script)?;
        written.push(path);
    }
    keep_small_pushes_packed(&repo);
    if wake {
        // Created now, writable by whoever pushes, so the first push need
        // not create it and a coordinator can watch it from the start.
        let stamp = repo.git_dir().join(crate::git::watch::WAKE_FILE);
        let _ = std::fs::write(&stamp, b"");
        let _ = set_mode(&stamp, 0o666);
    }
    warm_fold_cache(&repo);
    Ok(written)
}

/// Folds both ledgers once so that a ledger written without snapshots (an
/// old or foreign tool) is remembered in the fold cache before the first push
/// is judged. Best effort: a damaged ledger is the hook's to report.
fn warm_fold_cache(repo: &Repo) {
    use crate::git::names;
    use crate::ledger::{ControlLedger, QueueLedger, read_state};
    if let Ok(tip) = repo.try_find_ref(names::CONTROL) {
        let _ = read_state::<ControlLedger>(repo, tip);
        let _ = super::control_ids::known_ids(repo, tip);
    }
    if let Ok(tip) = repo.try_find_ref(names::QUEUE) {
        let _ = read_state::<QueueLedger>(repo, tip);
    }
}

/// Sets `receive.unpackLimit = 1` unless the repository sets it already (an
/// administrator's choice stays). git unpacks any push of fewer than 100
/// objects into loose files, one per object, and a coordinator's pushes are
/// all that small: a tested train's push (3 candidates of 10 entries, about
/// 90 objects) costs 2 to 4 times a merge pass that way, and less than one
/// kept as the pack it arrived as (`bench/train/RESULTS.md`). `git gc --auto`
/// repacks as usual. Best effort: the hooks work either way.
fn keep_small_pushes_packed(repo: &Repo) {
    let set = repo
        .run_git(&["config", "--local", "--get", "receive.unpackLimit"])
        .is_ok_and(|v| !v.trim().is_empty());
    if !set {
        let _ = repo.run_git(&["config", "--local", "receive.unpackLimit", "1"]);
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn write_executable(path: &Path, text: &str) -> CliResult {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| CliError::usage(format!("cannot write {}: {e}", path.display()));
    std::fs::write(path, text).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    Ok(())
}
