//! Opening the server repository from inside a git hook, objects in git's quarantine included.
//!
//! While `pre-receive` runs, the pushed objects sit in a quarantine directory
//! (`GIT_OBJECT_DIRECTORY` / `GIT_QUARANTINE_PATH`) that git makes readable to
//! its own children through `GIT_ALTERNATE_OBJECT_DIRECTORIES`. gix reads none
//! of those variables, and its object store learns about extra directories
//! only through an `info/alternates` file. So the hook builds a scratch object
//! directory outside the repository whose `info/alternates` lists the
//! quarantine, git's alternates and the repository's own object directory, and
//! reads every object through it. Nothing is ever written into the quarantine
//! (git migrates that directory wholesale into the repository after the hook).

use super::Repo;
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The object directories git hands a hook, read from its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookObjectDirs {
    /// `GIT_OBJECT_DIRECTORY` (or `GIT_QUARANTINE_PATH`): where the pushed objects are.
    pub object_dir: Option<PathBuf>,
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES`, in order.
    pub alternates: Vec<PathBuf>,
}

impl HookObjectDirs {
    /// Reads the variables through `var` (`std::env::var_os` in production).
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>) -> HookObjectDirs {
        let object_dir = ["GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH"]
            .iter()
            .find_map(|name| var(name).filter(|v| !v.is_empty()))
            .map(PathBuf::from);
        let alternates = var("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .map(|v| split_alternates(&v.to_string_lossy()))
            .unwrap_or_default();
        HookObjectDirs {
            object_dir,
            alternates,
        }
    }

    /// True when git gave the hook no extra object directory.
    pub fn is_empty(&self) -> bool {
        self.object_dir.is_none() && self.alternates.is_empty()
    }
}

/// Splits `GIT_ALTERNATE_OBJECT_DIRECTORIES`: `:`-separated, an entry may be
/// double-quoted with C escapes (git quotes paths holding `:` or `"`).
pub fn split_alternates(value: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut path = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => match chars.next().map(|(_, e)| e) {
                        Some('n') => path.push('\n'),
                        Some('t') => path.push('\t'),
                        Some(other) => path.push(other),
                        None => {}
                    },
                    c => path.push(c),
                }
            }
            if !path.is_empty() {
                out.push(PathBuf::from(path));
            }
            rest = quoted[end.min(quoted.len())..].trim_start_matches(':');
        } else {
            let (entry, tail) = rest.split_once(':').unwrap_or((rest, ""));
            if !entry.is_empty() {
                out.push(PathBuf::from(entry));
            }
            rest = tail;
        }
    }
    out
}

/// A scratch directory removed when dropped.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A repository opened for a hook; keep it alive while reading objects.
pub struct HookRepo {
    /// The repository, reading quarantined objects too.
    pub repo: Repo,
    /// The scratch object directory (if any), removed on drop.
    _scratch: Option<Scratch>,
}

impl HookRepo {
    /// Opens the repository at `git_dir` so that the objects in `dirs` are readable.
    pub fn open(git_dir: &Path, dirs: &HookObjectDirs) -> Result<HookRepo> {
        let mut repo = Repo::open(git_dir)?;
        if dirs.is_empty() {
            return Ok(HookRepo {
                repo,
                _scratch: None,
            });
        }
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let absolute = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                cwd.join(p)
            }
        };
        let own_objects = absolute(&repo.gix().common_dir().join("objects"));
        let mut listed: Vec<PathBuf> = Vec::new();
        let candidates = dirs.object_dir.iter().chain(dirs.alternates.iter());
        for dir in candidates.map(|d| absolute(d)).chain([own_objects]) {
            if dir.is_dir() && !listed.contains(&dir) {
                listed.push(dir);
            }
        }
        let scratch = Scratch(std::env::temp_dir().join(format!(
            "git-deploybot-hook-{}-{:016x}",
            std::process::id(),
            super::store::random_u64()
        )));
        let info = scratch.0.join("info");
        std::fs::create_dir_all(&info)
            .with_context(|| format!("cannot create {}", info.display()))?;
        let text: String = listed.iter().map(|p| alternates_line(p) + "\n").collect();
        std::fs::write(info.join("alternates"), text)
            .with_context(|| format!("cannot write {}", info.display()))?;
        let hash = repo.gix().object_hash();
        let handle = gix::odb::at_opts(
            scratch.0.clone(),
            hash,
            None,
            gix::odb::store::init::Options {
                current_dir: Some(cwd),
                ..Default::default()
            },
        )
        .with_context(|| format!("cannot open the quarantine through {}", scratch.0.display()))?;
        repo.inner.objects = handle.into();
        repo.inner.object_cache_size_if_unset(8 * 1024 * 1024);
        Ok(HookRepo {
            repo,
            _scratch: Some(scratch),
        })
    }
}

/// One `info/alternates` line for `path`, C-quoted when git would need it.
fn alternates_line(path: &Path) -> String {
    let text = path.to_string_lossy();
    if !text.contains(['\n', '"', '\\', '\t']) && !text.starts_with('#') {
        return text.into_owned();
    }
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_split_on_colons_and_honour_quotes() {
        assert_eq!(
            split_alternates("/srv/a/objects:\"/odd:dir/objects\":/b"),
            vec![
                PathBuf::from("/srv/a/objects"),
                PathBuf::from("/odd:dir/objects"),
                PathBuf::from("/b")
            ]
        );
        assert!(split_alternates("").is_empty());
    }

    #[test]
    fn object_dir_prefers_git_object_directory() {
        let dirs = HookObjectDirs::from_env(|name| match name {
            "GIT_QUARANTINE_PATH" => Some("/q".into()),
            "GIT_OBJECT_DIRECTORY" => Some("/o".into()),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES" => Some("/main/objects".into()),
            _ => None,
        });
        assert_eq!(dirs.object_dir, Some(PathBuf::from("/o")));
        assert_eq!(dirs.alternates, vec![PathBuf::from("/main/objects")]);
    }

    #[test]
    fn quoting_round_trips_through_gix() {
        let line = alternates_line(Path::new("/a\"b\\c"));
        let parsed = gix::odb::alternate::parse(line.as_bytes()).expect("parses");
        assert_eq!(parsed, vec![PathBuf::from("/a\"b\\c")]);
    }
}
