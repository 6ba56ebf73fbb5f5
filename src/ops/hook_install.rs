//! Installing the server-side hook scripts into a bare repository.

use crate::error::{CliError, CliResult};
use crate::git::Repo;
use crate::messages;
use std::path::{Path, PathBuf};

/// The line that marks a hook script as ours (so reinstalling may replace it).
pub const MARKER: &str = "# installed by `git deploybot hook install`";

/// The reference-transaction script's filter: drains every state but
/// `prepared` in the shell, and lets a `prepared` transaction that touches
/// only deploybot's ledgers and notes through without starting the binary
/// (the re-check concerns base branches, which live under `refs/heads/`);
/// else it keeps the input in `$input` for the binary. No process is forked.
pub const RECHECK_FILTER: &str = r#"if [ "$1" != prepared ]; then
  while read -r _; do :; done
  exit 0
fi
input=
branch=
while IFS= read -r line; do
  input="$input$line
"
  case "${line##* }" in
    refs/deploybot/*|refs/notes/*) ;;
    *) branch=yes ;;
  esac
done
[ -n "$branch" ] || exit 0
"#;

/// The script for `hook` that execs `binary`. The reference-transaction
/// script starts the binary only for a `prepared` transaction that may move
/// a branch ([`RECHECK_FILTER`]), so most pushes cost one process less.
pub fn hook_script(binary: &Path, hook: &str) -> String {
    let quoted = binary.display().to_string().replace('\'', r"'\''");
    let head = format!(
        "#!/bin/sh\n{MARKER}\n# git-deploybot: the server-side guard (see hooks/README.md).\n"
    );
    if hook == "reference-transaction" {
        return format!(
            "{head}{RECHECK_FILTER}printf '%s' \"$input\" | exec '{quoted}' hook {hook} \"$@\"\n"
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The installed reference-transaction script, with a binary that logs
    /// what it is given, on a real repository: a transaction of ledgers and
    /// notes alone starts no binary; one that moves a branch hands it the
    /// whole input, every line as git wrote it.
    #[test]
    fn the_recheck_starts_the_binary_only_for_transactions_that_move_a_branch() {
        let (dir, repo) = crate::git::bare_repo_for_tests();
        let log = dir.path().join("calls.log");
        let fake = dir.path().join("fake-deploybot");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\necho \"call $*\" >> '{}'\ncat >> '{}'\n",
                log.display(),
                log.display()
            ),
        )
        .expect("fake binary");
        set_mode(&fake, 0o755).expect("executable");
        let hook = dir.path().join("hooks/reference-transaction");
        std::fs::create_dir_all(hook.parent().expect("hooks dir")).expect("hooks dir");
        write_executable(&hook, &hook_script(&fake, "reference-transaction")).expect("hook");
        let blob = repo.write_blob(b"x").expect("blob");
        let tree = repo.write_flat_tree(&[("x", blob)]).expect("tree");
        let who = crate::git::objects::Identity::for_actor("test");
        let commit = repo.write_commit(tree, &[], "c", &who).expect("commit");
        let sha = commit.to_string();
        let update = |stdin: String| {
            let mut child = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["update-ref", "--stdin"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("git runs");
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(stdin.as_bytes())
                .expect("written");
            assert!(child.wait().expect("waits").success());
        };
        update(format!(
            "create refs/deploybot/control {sha}\ncreate refs/notes/deploybot/ci {sha}\n"
        ));
        assert!(!log.exists(), "no binary for ledgers and notes alone");
        assert!(
            include_str!("../../hooks/reference-transaction").contains(RECHECK_FILTER),
            "the copy in hooks/ filters the same way"
        );
        update(format!(
            "create refs/deploybot/queue {sha}\ncreate refs/heads/main {sha}\n"
        ));
        let zero = "0".repeat(40);
        assert_eq!(
            std::fs::read_to_string(&log).expect("the binary ran"),
            format!(
                "call hook reference-transaction prepared\n{zero} {sha} refs/deploybot/queue\n{zero} {sha} refs/heads/main\n"
            )
        );
    }
}
