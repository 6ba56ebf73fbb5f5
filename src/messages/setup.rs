//! init, doctor, demo and man.

/// `init` in a bare repository.
pub fn init_bare(git_dir: &str) -> String {
    format!(
        "{git_dir} is a bare repository; run `git deploybot init` in a clone with a working tree"
    )
}

/// `init` kept an existing policy file.
pub fn init_kept(path: &str) -> String {
    format!("kept {path} (it exists; `git deploybot init --force` replaces it with the starter)")
}

/// `init` found no remote: the local refs are the source of truth.
pub fn init_no_remote(remote: &str) -> String {
    format!(
        "no remote `{remote}`: the local refs are the source of truth; run init again after `git remote add {remote} <url>`"
    )
}

/// `demo --dir` given a directory that holds something.
pub fn demo_dir_not_empty(dir: &str) -> String {
    format!("{dir} is not empty; give --dir a new or empty directory")
}

/// The demo missed expectations.
pub fn demo_failed(missed: usize) -> String {
    format!("the demo missed {missed} expectation(s) (listed above)")
}

/// `doctor` found failing rows.
pub fn doctor_failed(failed: usize) -> String {
    format!("{failed} check(s) failed; apply the fixes above and run `git deploybot doctor` again")
}

/// `man --install` could not find a place next to the binary.
pub fn man_no_prefix(binary: &str) -> String {
    format!(
        "cannot derive a man directory from {binary}; pass --dir DIR (a man1 directory on your MANPATH)"
    )
}
