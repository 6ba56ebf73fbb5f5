//! Plain ssh: Debian's OpenSSH `sshd`, run in the foreground with its own
//! config, host key, pid file and `authorized_keys` in the test's directory,
//! logging every key in as [`GIT_USER`]. Each key's forced command sets
//! `REMOTE_USER` exactly as hooks/README.md shows; the repository is a bare
//! one guarded by `git deploybot hook install`.

use super::{Access, Daemon, GIT_USER, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The users with a key on the plain ssh server (`nobody`'s key sets no identity).
pub const USERS: &[&str] = &["alice", "coord", "ci", "mallory", "nobody"];

/// An sshd listening on 127.0.0.1.
pub struct Sshd {
    /// The running daemon.
    pub daemon: Daemon,
    /// What clients need to reach it.
    pub client: SshClient,
}

/// What a client needs from a running sshd: its port and its pinned host key.
#[derive(Clone)]
pub struct SshClient {
    /// The sshd's port.
    pub port: u16,
    /// A known_hosts file pinning its host key.
    pub known_hosts: PathBuf,
}

/// Writes an ed25519 key pair at `path` and `path.pub`; returns the public line.
pub fn keygen(path: &Path, comment: &str) -> String {
    crate::common::ssh_keypair(path, comment)
}

/// Starts sshd with its files in `dir/sshd`, accepting the keys of
/// `authorized_keys` for [`GIT_USER`] only; `set_env` is added to every
/// session's environment (sshd's `SetEnv`).
pub fn start_sshd(dir: &Path, authorized_keys: &Path, set_env: &[String]) -> Sshd {
    let etc = dir.join("sshd");
    let host_key = etc.join("host_ed25519");
    let host_pub = keygen(&host_key, "host");
    // sshd's privilege separation directory (Debian creates it at boot).
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    let config = etc.join("sshd_config");
    let log = etc.join("sshd.log");
    let (daemon, port) = super::start_on_free_port("sshd", &log, |port| {
        let mut text = format!(
            "ListenAddress 127.0.0.1:{port}\n\
             HostKey {host}\n\
             PidFile {pid}\n\
             AuthorizedKeysFile {keys}\n\
             AllowUsers {GIT_USER}\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin no\n\
             UsePAM no\n\
             StrictModes no\n\
             PrintMotd no\n\
             LogLevel VERBOSE\n",
            host = host_key.display(),
            pid = etc.join("sshd.pid").display(),
            keys = authorized_keys.display(),
        );
        if !set_env.is_empty() {
            text.push_str(&format!("SetEnv {}\n", set_env.join(" ")));
        }
        std::fs::write(&config, text).expect("sshd_config");
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.arg("-D").arg("-e").arg("-f").arg(&config);
        cmd
    });
    let known_hosts = etc.join("known_hosts");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_pub}\n")).expect("known_hosts");
    Sshd {
        daemon,
        client: SshClient { port, known_hosts },
    }
}

impl SshClient {
    /// `core.sshCommand` for a client holding `key`: that key only, this
    /// server's host key pinned, never a prompt. The key exchange is
    /// curve25519: OpenSSH 9's default post-quantum one costs about 0.15 s
    /// of CPU per connection on a small machine, and the story makes a
    /// hundred connections; nothing the servers do depends on it.
    pub fn ssh_command(&self, key: &Path) -> String {
        format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o KexAlgorithms=curve25519-sha256 -o LogLevel=ERROR",
            key.display(),
            self.known_hosts.display()
        )
    }

    /// How the holder of `key` reaches `path` on this server.
    pub fn access(&self, key: &Path, path: &str) -> Access {
        Access {
            url: format!("ssh://{GIT_USER}@127.0.0.1:{}{path}", self.port),
            config: vec![("core.sshCommand".into(), self.ssh_command(key))],
        }
    }
}

/// The `authorized_keys` line hooks/README.md gives for `user`'s key.
pub fn forced_command_line(user: &str, public: &str) -> String {
    format!(
        "command=\"env REMOTE_USER={user} git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-port-forwarding,no-pty {public}"
    )
}

/// A plain ssh server: a bare `project.git` owned by [`GIT_USER`] with the
/// hook installed, one key per user of [`USERS`] (`nobody`'s forced command
/// sets no `REMOTE_USER`). None when the tests are skipped on request.
pub fn start() -> Option<Server> {
    if !super::prepare(&["openssh-client", "openssh-server"]) {
        return None;
    }
    let dir = super::server_dir("ssh");
    let root = dir.path().to_path_buf();
    super::server_binary(&root);
    let srv = root.join("srv");
    std::fs::create_dir_all(&srv).expect("srv");
    super::chown(&srv, GIT_USER);
    let repo = srv.join("project.git");
    let repo_arg = repo.to_str().expect("a UTF-8 path");
    super::run_as(
        GIT_USER,
        &[],
        "git",
        &["init", "-q", "--bare", "-b", "main", repo_arg],
    );
    super::hook_install(&root, &repo);
    let mut lines = String::new();
    for user in USERS {
        let public = keygen(&root.join("keys").join(user), user);
        if *user == "nobody" {
            // Plain ssh as it comes: the key works, no identity is set.
            lines.push_str(&format!(
                "command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-port-forwarding,no-pty {public}\n"
            ));
        } else {
            lines.push_str(&forced_command_line(user, &public));
            lines.push('\n');
        }
    }
    std::fs::create_dir_all(root.join("sshd")).expect("sshd dir");
    let authorized = root.join("sshd").join("authorized_keys");
    std::fs::write(&authorized, lines).expect("authorized_keys");
    let sshd = start_sshd(&root, &authorized, &[]);
    let keys = root.join("keys");
    let repo_path = repo_arg.to_string();
    let client = sshd.client.clone();
    let howto = vec![
        format!(
            "git clone -c core.sshCommand='{}' {} try",
            client.ssh_command(&keys.join("alice")),
            client.access(&keys.join("alice"), &repo_path).url
        ),
        format!("keys of {USERS:?} in {}", keys.display()),
        format!("sshd log: {}", root.join("sshd/sshd.log").display()),
    ];
    let access = Box::new(move |user: &str| {
        assert!(USERS.contains(&user), "no ssh key for {user}");
        client.access(&keys.join(user), &repo_path)
    });
    Some(Server::new(
        ("ssh", GIT_USER),
        dir,
        repo,
        vec![sshd.daemon],
        access,
        howto,
    ))
}
