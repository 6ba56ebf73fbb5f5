//! The machine the servers run on: root, Debian's packages (installed with
//! apt-get when missing, services kept from starting), and the unprivileged
//! account [`GIT_USER`] that owns the ssh and gitolite repositories, created
//! once like a package would (a system user with `/bin/sh`, home
//! `/var/lib/deploybot-git`), so the hooks run as a real git server's do.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// The unprivileged account that owns the ssh and gitolite repositories.
pub const GIT_USER: &str = "deploybot-git";

/// Each Debian package the servers use, and a file that shows it is installed.
const PACKAGES: &[(&str, &str)] = &[
    ("openssh-client", "/usr/bin/ssh-keygen"),
    ("openssh-server", "/usr/sbin/sshd"),
    ("gitolite3", "/usr/bin/gitolite"),
    ("apache2", "/usr/sbin/apache2"),
    ("apache2-utils", "/usr/bin/htpasswd"),
];

/// Serializes installs and account creation between the tests of this binary.
static SETUP: Mutex<()> = Mutex::new(());

/// Prepares the machine for servers made of `packages`: root, the packages
/// (installed from Debian when missing), the git account. Returns false only
/// when `DEPLOYBOT_SKIP_SERVER_TESTS` asks to skip (said on stderr).
pub fn prepare(packages: &[&str]) -> bool {
    if std::env::var_os("DEPLOYBOT_SKIP_SERVER_TESTS").is_some() {
        eprintln!("test_servers: SKIPPED on request (DEPLOYBOT_SKIP_SERVER_TESTS is set)");
        return false;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "tests/test_servers.rs runs sshd, gitolite and Apache as their own users and installs \
         Debian packages, so it needs root (CI runs as root); run it as root, or set \
         DEPLOYBOT_SKIP_SERVER_TESTS=1 to skip these tests deliberately"
    );
    let _one = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(name, file)| packages.contains(name) && !Path::new(file).exists())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        install(&missing);
    }
    ensure_git_user();
    true
}

/// `apt-get install`s `missing`, with services kept from starting (a
/// policy-rc.d that says no, unless the machine has one), or panics saying why.
fn install(missing: &[&str]) {
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let own_policy = !policy.exists();
    if own_policy {
        std::fs::write(policy, "#!/bin/sh\nexit 101\n").expect("write policy-rc.d");
        chmod(policy, 0o755);
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
    };
    let update = apt(&["update", "-qq"]);
    let mut args = vec!["install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300"];
    args.extend_from_slice(missing);
    let out = apt(&args);
    if own_policy {
        let _ = std::fs::remove_file(policy);
    }
    let failed = |what: &str, why: String| -> ! {
        panic!(
            "the server tests need the Debian packages {missing:?}, and `apt-get {what}` failed: \
             {why}; install them by hand (`apt-get install -y {}`) and run again",
            missing.join(" ")
        )
    };
    match (update, out) {
        (Err(e), _) | (_, Err(e)) => failed("install", e.to_string()),
        (_, Ok(out)) if !out.status.success() => {
            failed("install", String::from_utf8_lossy(&out.stderr).into_owned())
        }
        _ => {}
    }
    for (name, file) in PACKAGES {
        if missing.contains(name) && !Path::new(file).exists() {
            failed(
                "install",
                format!("{file} is still missing after installing {name}"),
            );
        }
    }
}

/// Creates [`GIT_USER`] when missing: a system account with a real shell (the
/// forced commands run through it) and an unlocked, unusable password (sshd
/// refuses keys of a locked account when PAM is off).
fn ensure_git_user() {
    let exists = || run_ok("getent", &["passwd", GIT_USER]).is_ok();
    if !exists() {
        let created = run_ok(
            "useradd",
            &[
                "--system",
                "--user-group",
                "--create-home",
                "--home-dir",
                "/var/lib/deploybot-git",
                "--shell",
                "/bin/sh",
                "--password",
                "*",
                GIT_USER,
            ],
        );
        if let Err(why) = created {
            assert!(exists(), "cannot create the user {GIT_USER}: {why}");
        }
    }
    // sshd starts sessions in the home directory.
    let home = Path::new("/var/lib/deploybot-git");
    if !home.exists() {
        std::fs::create_dir_all(home).expect("git user's home");
        chown(home, GIT_USER);
    }
}

/// Runs `program args`, returning stdout, or its stderr as the error.
pub fn run_ok(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `program args` as `user` (with `env` added), panicking with its output on failure.
pub fn run_as(user: &str, env: &[(&str, &str)], program: &str, args: &[&str]) -> String {
    let mut all = vec!["-u", user, "--", "env"];
    let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    all.extend(pairs.iter().map(String::as_str));
    all.push(program);
    all.extend_from_slice(args);
    run_ok("runuser", &all).unwrap_or_else(|e| panic!("{e}"))
}

/// Sets a path's mode bits.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Gives `path` (recursively) to `user` and its group.
pub fn chown(path: &Path, user: &str) {
    let path = path.to_str().expect("a UTF-8 path");
    run_ok("chown", &["-R", &format!("{user}:"), path]).unwrap_or_else(|e| panic!("{e}"));
}
