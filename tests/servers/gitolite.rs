//! gitolite (Debian's `gitolite3`) over the test's sshd, set up the way a
//! gitolite admin does it and the hook installed exactly as hooks/README.md
//! tells them: `LOCAL_CODE` and `repo-specific-hooks` in `~/.gitolite.rc`,
//! `hooks/pre-receive` as `local/hooks/repo-specific/deploybot` in the
//! gitolite-admin repository with `option hook.pre-receive = deploybot`, and
//! `hooks/reference-transaction` in `local/hooks/common/`. The identity is
//! gitolite's `GL_USER`, from the key that logged in.
//!
//! Test plumbing a real server does not need: the git account's HOME is the
//! test's directory (sshd's `SetEnv HOME=…`, so each test has its own
//! gitolite instead of `~git`), and the copy of the binary in `dir/bin` is
//! put first on the sessions' PATH (sshd's `SetEnv PATH=…`), standing for
//! `git-deploybot` installed in `/usr/local/bin`.

use super::ssh::{SshClient, keygen, start_sshd};
use super::{GIT_USER, Server, chown, run_as};
use crate::common::git_in;
use std::path::Path;

/// The gitolite users with a key (`admin` administers gitolite itself).
pub const USERS: &[&str] = &["alice", "coord", "ci", "mallory"];

/// What the admin appends to `conf/gitolite.conf` (hooks/README.md).
const CONF: &str = "\nrepo project\n    RW+ = @all\n    option hook.pre-receive = deploybot\n";

/// A gitolite server whose `project` is guarded by the hook. None when the
/// tests are skipped on request.
pub fn start() -> Option<Server> {
    if !super::prepare(&["openssh-client", "openssh-server", "gitolite3"]) {
        return None;
    }
    let dir = super::server_dir("gitolite");
    let root = dir.path().to_path_buf();
    super::server_binary(&root);
    // The git account's home: gitolite lives here.
    let home = root.join("gitolite");
    std::fs::create_dir_all(&home).expect("gitolite home");
    let keys = root.join("keys");
    let admin_pub = keygen(&keys.join("admin"), "admin");
    std::fs::write(home.join("admin.pub"), format!("{admin_pub}\n")).expect("admin.pub");
    chown(&home, GIT_USER);
    let home_str = home.to_str().expect("a UTF-8 path");
    let admin_pub_path = home.join("admin.pub");
    let pk = admin_pub_path.to_str().expect("a UTF-8 path");
    run_as(
        GIT_USER,
        &[("HOME", home_str)],
        "gitolite",
        &["setup", "-pk", pk],
    );
    enable_repo_specific_hooks(&home.join(".gitolite.rc"));
    let path_env = format!(
        "PATH={}:/usr/local/bin:/usr/bin:/bin",
        root.join("bin").display()
    );
    let sshd = start_sshd(
        &root,
        &home.join(".ssh/authorized_keys"),
        &[format!("HOME={home_str}"), path_env],
    );
    admin_push(&root, &sshd.client, &keys);
    let repo = home.join("repositories/project.git");
    for hook in [
        "pre-receive",
        "pre-receive.h00-deploybot",
        "reference-transaction",
    ] {
        assert!(
            repo.join("hooks").join(hook).exists(),
            "gitolite installed hooks/{hook} in project.git"
        );
    }
    let client = sshd.client.clone();
    let howto = vec![
        format!(
            "git clone -c core.sshCommand='{}' {} try",
            client.ssh_command(&keys.join("alice")),
            client.access(&keys.join("alice"), "/project").url
        ),
        format!(
            "admin: git clone -c core.sshCommand='{}' {}",
            client.ssh_command(&keys.join("admin")),
            client.access(&keys.join("admin"), "/gitolite-admin").url
        ),
        format!("keys of {USERS:?} and admin in {}", keys.display()),
    ];
    let access = Box::new(move |user: &str| {
        assert!(USERS.contains(&user), "no gitolite key for {user}");
        client.access(&keys.join(user), "/project")
    });
    Some(Server::new(
        ("gitolite", GIT_USER),
        dir,
        repo,
        vec![sshd.daemon],
        access,
        howto,
    ))
}

/// hooks/README.md, step 1: in `~/.gitolite.rc`, set `LOCAL_CODE` to
/// `"$rc{GL_ADMIN_BASE}/local"` and enable `'repo-specific-hooks'` (both are
/// commented out in the rc file that `gitolite setup` writes).
fn enable_repo_specific_hooks(rc: &Path) {
    let text = std::fs::read_to_string(rc).expect("~/.gitolite.rc");
    let local = r#"# LOCAL_CODE                =>  "$rc{GL_ADMIN_BASE}/local","#;
    let hooks = "# 'repo-specific-hooks',";
    assert!(
        text.contains(local) && text.contains(hooks),
        "the rc file gitolite wrote: {text}"
    );
    let text = text.replace(local, &local[2..]).replace(hooks, &hooks[2..]);
    std::fs::write(rc, text).expect("write ~/.gitolite.rc");
}

/// hooks/README.md, step 2, as the gitolite admin: the hook scripts under
/// `local/` of the gitolite-admin repository (executable), a key per user,
/// and `project` with `option hook.pre-receive = deploybot`; one push.
fn admin_push(root: &Path, ssh: &SshClient, keys: &Path) {
    let home = root.join("home");
    let admin = root.join("clients").join("gitolite-admin");
    std::fs::create_dir_all(admin.parent().expect("clients")).expect("clients dir");
    let access = ssh.access(&keys.join("admin"), "/gitolite-admin");
    let command = format!("core.sshCommand={}", access.config[0].1);
    let target = admin.to_str().expect("a UTF-8 path");
    git_in(
        root,
        &home,
        &["clone", "-q", "-c", &command, &access.url, target],
    );
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks");
    let copy = |from: &str, to: &str| {
        let to = admin.join(to);
        std::fs::create_dir_all(to.parent().expect("dir")).expect("local dir");
        std::fs::copy(sources.join(from), &to).expect("copy a hook script");
        super::chmod(&to, 0o755);
    };
    copy("pre-receive", "local/hooks/repo-specific/deploybot");
    copy(
        "reference-transaction",
        "local/hooks/common/reference-transaction",
    );
    for user in USERS {
        let public = keygen(&keys.join(user), user);
        std::fs::write(
            admin.join(format!("keydir/{user}.pub")),
            format!("{public}\n"),
        )
        .expect("key");
    }
    let conf = admin.join("conf/gitolite.conf");
    let text = std::fs::read_to_string(&conf).expect("gitolite.conf");
    std::fs::write(&conf, format!("{text}{CONF}")).expect("gitolite.conf");
    git_in(&admin, &home, &["add", "."]);
    git_in(
        &admin,
        &home,
        &["commit", "-q", "-m", "project, guarded by git-deploybot"],
    );
    git_in(&admin, &home, &["push", "-q", "origin", "HEAD"]);
    // The common reference-transaction hook is now in every repository,
    // gitolite-admin included: the admin's next push still goes through.
    let admin_repo = root.join("gitolite/repositories/gitolite-admin.git");
    assert!(admin_repo.join("hooks/reference-transaction").exists());
    let text = std::fs::read_to_string(&conf).expect("gitolite.conf");
    std::fs::write(&conf, format!("{text}# guarded: project\n")).expect("gitolite.conf");
    git_in(
        &admin,
        &home,
        &["commit", "-q", "-am", "a second admin push"],
    );
    git_in(&admin, &home, &["push", "-q", "origin", "HEAD"]);
}
