//! The demo's throwaway world: a directory holding a bare server and named
//! clones, and real `git` / `git-deploybot` processes run inside it with a
//! pinned environment (its own HOME, no system config, no inherited GIT_*).
//! The demo plays the people in the story, so it runs `git` and this binary
//! as they would, as processes; it never reaches into the git layer.

use crate::messages;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one process did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The command line as shown to the reader (`git deploybot -C dev request a`).
    pub shown: String,
    /// The exit code (None: killed by a signal).
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Ran {
    /// True when it exited 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout parsed as JSON (Null when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// stdout, trimmed.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }

    /// The first non-empty line of stderr (for messages about failures).
    pub fn first_error(&self) -> &str {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

/// The world: `root/server.git`, `root/<clone>`, `root/home`.
pub struct World {
    /// Where everything lives; commands run here, so clone paths are relative.
    pub root: PathBuf,
    /// The git-deploybot binary every step runs.
    pub binary: PathBuf,
    /// Remove `root` when dropped.
    pub remove_on_drop: bool,
}

/// The server repository's directory name under the world's root.
pub const SERVER: &str = "server.git";

/// Variables that would make a child act on another repository or identity.
const CLEARED_ENV: [&str; 12] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
];

impl World {
    /// Creates the world in `dir` (which must be absent or empty), or in a new
    /// directory under the system's temporary directory.
    pub fn create(dir: Option<&Path>, binary: PathBuf, keep: bool) -> Result<World> {
        let (root, remove_on_drop) = match dir {
            Some(dir) => {
                if dir.exists()
                    && std::fs::read_dir(dir)
                        .with_context(|| format!("cannot read {}", dir.display()))?
                        .next()
                        .is_some()
                {
                    let shown = dir.display().to_string();
                    let err = crate::error::CliError::usage(messages::demo_dir_not_empty(&shown));
                    return Err(err.into());
                }
                (dir.to_path_buf(), false)
            }
            None => {
                let name = format!("git-deploybot-demo-{:08x}", crate::git::store::random_u64());
                (std::env::temp_dir().join(name), !keep)
            }
        };
        std::fs::create_dir_all(root.join("home"))
            .with_context(|| format!("cannot create {}", root.display()))?;
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        Ok(World {
            root,
            binary,
            remove_on_drop,
        })
    }

    /// The server repository's path.
    pub fn server(&self) -> PathBuf {
        self.root.join(SERVER)
    }

    fn pinned(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        let home = self.root.join("home");
        cmd.current_dir(&self.root)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    fn run(&self, mut cmd: Command, shown: String) -> Result<Ran> {
        let out = cmd
            .output()
            .with_context(|| format!("cannot run `{shown}`"))?;
        Ok(Ran {
            shown,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `git <args>` in the world's root.
    pub fn git(&self, args: &[&str]) -> Result<Ran> {
        let mut cmd = self.pinned(Path::new("git"));
        cmd.args(args);
        self.run(cmd, format!("git {}", shell_words(args)))
    }

    /// `git <args>`, which must succeed; returns trimmed stdout.
    pub fn git_ok(&self, args: &[&str]) -> Result<String> {
        let ran = self.git(args)?;
        if !ran.ok() {
            bail!("`{}` failed: {}", ran.shown, ran.first_error());
        }
        Ok(ran.out().to_string())
    }

    /// `git -C <clone> <args>`.
    pub fn git_in(&self, clone: &str, args: &[&str]) -> Result<Ran> {
        let mut all = vec!["-C", clone];
        all.extend_from_slice(args);
        self.git(&all)
    }

    /// `git -C <clone> <args>`, which must succeed; returns trimmed stdout.
    pub fn git_in_ok(&self, clone: &str, args: &[&str]) -> Result<String> {
        let mut all = vec!["-C", clone];
        all.extend_from_slice(args);
        self.git_ok(&all)
    }

    /// `git <args>` with `input` on stdin, which must succeed; returns trimmed stdout.
    pub fn git_stdin(&self, dir: &str, args: &[&str], input: &str) -> Result<String> {
        use std::io::Write;
        let mut cmd = self.pinned(Path::new("git"));
        cmd.arg("-C")
            .arg(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("cannot run git")?;
        child
            .stdin
            .take()
            .context("git's stdin")?
            .write_all(input.as_bytes())
            .context("cannot write to git")?;
        let out = child.wait_with_output().context("git did not finish")?;
        if !out.status.success() {
            bail!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `sh <script>` inside `dir` (a clone or worktree under the root), as a CI runner runs a check.
    pub fn sh_in(&self, dir: &str, script: &str) -> Result<Ran> {
        let mut cmd = self.pinned(Path::new("sh"));
        cmd.current_dir(self.root.join(dir)).arg(script);
        self.run(cmd, format!("(cd {dir} && sh {script})"))
    }

    /// The real binary: `git deploybot -C <clone> <args>` (or without `-C` when `clone` is empty).
    pub fn deploybot(&self, clone: &str, args: &[&str]) -> Result<Ran> {
        let mut cmd = self.pinned(&self.binary);
        let mut shown = vec!["git", "deploybot"];
        if !clone.is_empty() {
            cmd.arg("-C").arg(clone);
            shown.extend(["-C", clone]);
        }
        cmd.args(args);
        shown.extend_from_slice(args);
        self.run(cmd, shell_words(&shown))
    }

    /// Starts the real binary in `clone` without waiting (a long-running
    /// `coordinate` or `runner`), its output piped.
    pub fn spawn(&self, clone: &str, args: &[&str]) -> Result<(std::process::Child, String)> {
        let mut cmd = self.pinned(&self.binary);
        cmd.arg("-C").arg(clone).args(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut shown = vec!["git", "deploybot", "-C", clone];
        shown.extend_from_slice(args);
        let shown = shell_words(&shown);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start `{shown}`"))?;
        Ok((child, shown))
    }

    /// A clone of the server called `name`, with its own identity.
    pub fn clone_as(&self, name: &str) -> Result<()> {
        self.git_ok(&["clone", "-q", SERVER, name])?;
        self.git_in_ok(name, &["config", "user.name", name])?;
        let email = format!("{name}@demo.invalid");
        self.git_in_ok(name, &["config", "user.email", &email])?;
        Ok(())
    }

    /// Writes `text` to `file` in `clone`, commits it and returns the new sha.
    pub fn commit_file(
        &self,
        clone: &str,
        file: &str,
        text: &str,
        message: &str,
    ) -> Result<String> {
        let path = self.root.join(clone).join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        self.git_in_ok(clone, &["add", file])?;
        self.git_in_ok(clone, &["commit", "-q", "-m", message])?;
        self.git_in_ok(clone, &["rev-parse", "HEAD"])
    }

    /// The server's value of `full_ref` (None when absent).
    pub fn server_ref(&self, full_ref: &str) -> Result<Option<String>> {
        let ran = self.git(&["--git-dir", SERVER, "rev-parse", "--verify", "-q", full_ref])?;
        Ok(ran.ok().then(|| ran.out().to_string()))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Joins words for display, quoting those a shell would split.
pub fn shell_words(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,^{}".contains(c));
            if plain {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
