//! Smart HTTP: `git http-backend` behind Debian's Apache (`apache2`), run
//! in the foreground with the test's own config file: basic auth from an
//! `htpasswd` file (apache2-utils), `Require valid-user`, the CGI as
//! `ScriptAlias /git/`. Apache sets `REMOTE_USER` from the login; the
//! workers run as Debian's `www-data` (Apache refuses to serve as root),
//! which owns the repository, as hooks/README.md says.

use super::{Access, Server, chown, run_as, run_ok};
use std::path::Path;
use std::process::Command;

/// The users in the htpasswd file (each one's password is `<user>-pw`).
pub const USERS: &[&str] = &["alice", "coord", "ci", "mallory"];

/// The account Apache's workers run as, and the repository's owner.
pub const WEB_USER: &str = "www-data";

/// Debian's module directory.
const MODULES: &str = "/usr/lib/apache2/modules";

/// The Apache config: loopback only, its own pid file, logs and runtime dir.
fn config(root: &Path, port: u16, backend: &str) -> String {
    let modules = [
        ("mpm_prefork_module", "mod_mpm_prefork.so"),
        ("authz_core_module", "mod_authz_core.so"),
        ("authn_core_module", "mod_authn_core.so"),
        ("auth_basic_module", "mod_auth_basic.so"),
        ("authn_file_module", "mod_authn_file.so"),
        ("authz_user_module", "mod_authz_user.so"),
        ("alias_module", "mod_alias.so"),
        ("cgi_module", "mod_cgi.so"),
        ("env_module", "mod_env.so"),
    ];
    let mut text = String::new();
    for (name, file) in modules {
        text.push_str(&format!("LoadModule {name} {MODULES}/{file}\n"));
    }
    let apache = root.join("apache");
    text.push_str(&format!(
        r#"ServerRoot {apache}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {apache}/apache2.pid
DefaultRuntimeDir {apache}
ErrorLog {apache}/error.log
LogLevel warn
User {WEB_USER}
Group {WEB_USER}
StartServers 1
MinSpareServers 1
MaxSpareServers 3

SetEnv GIT_PROJECT_ROOT {srv}
SetEnv GIT_HTTP_EXPORT_ALL
ScriptAlias /git/ {backend}/

<Location /git/>
    AuthType Basic
    AuthName "git"
    AuthUserFile {apache}/htpasswd
    Require valid-user
</Location>
"#,
        apache = apache.display(),
        srv = root.join("srv").display(),
    ));
    text
}

/// An Apache serving `project.git` over smart HTTP with basic auth, the hook
/// installed. None when the tests are skipped on request.
pub fn start() -> Option<Server> {
    if !super::prepare(&["apache2", "apache2-utils"]) {
        return None;
    }
    let dir = super::server_dir("http");
    let root = dir.path().to_path_buf();
    super::server_binary(&root);
    let srv = root.join("srv");
    std::fs::create_dir_all(&srv).expect("srv");
    chown(&srv, WEB_USER);
    let repo = srv.join("project.git");
    let repo_arg = repo.to_str().expect("a UTF-8 path");
    run_as(
        WEB_USER,
        &[],
        "git",
        &["init", "-q", "--bare", "-b", "main", repo_arg],
    );
    super::hook_install(&root, &repo);
    let apache = root.join("apache");
    std::fs::create_dir_all(&apache).expect("apache dir");
    let htpasswd = apache.join("htpasswd");
    let file = htpasswd.to_str().expect("a UTF-8 path");
    for (i, user) in USERS.iter().enumerate() {
        let create = if i == 0 { "-bcB" } else { "-bB" };
        run_ok("htpasswd", &[create, file, user, &format!("{user}-pw")])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // The http-backend of the git on PATH (the one the clients use).
    let exec_path = run_ok("git", &["--exec-path"]).expect("git --exec-path");
    let backend = format!("{}/git-http-backend", exec_path.trim());
    let conf = apache.join("apache2.conf");
    let log = apache.join("apache2.out");
    let (daemon, port) = super::start_on_free_port("apache2", &log, |port| {
        std::fs::write(&conf, config(&root, port, &backend)).expect("apache2.conf");
        let mut cmd = Command::new("/usr/sbin/apache2");
        cmd.arg("-f").arg(&conf).arg("-DFOREGROUND");
        cmd
    });
    let url = move |user: &str| format!("http://{user}:{user}-pw@127.0.0.1:{port}/git/project.git");
    let howto = vec![
        format!("git clone {} try", url("alice")),
        format!(
            "users {USERS:?}, password <user>-pw; config {}",
            conf.display()
        ),
        format!("error log: {}", apache.join("error.log").display()),
    ];
    let access = Box::new(move |user: &str| {
        assert!(USERS.contains(&user), "no htpasswd entry for {user}");
        Access {
            url: url(user),
            config: Vec::new(),
        }
    });
    Some(Server::new(
        ("http", WEB_USER),
        dir,
        repo,
        vec![daemon],
        access,
        howto,
    ))
}
