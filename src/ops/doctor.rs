//! `doctor`: one row per thing a working installation needs, each ok, warn or
//! fail with the fix. Reads only; never writes a ref or a config value.

use crate::core::policy::{POLICY_FILE, Policy};
use crate::git::store::Store;
use crate::git::{ObjectId, Repo, names};
use crate::ledger::{self, ControlLedger, LedgerKind, QueueLedger};
use crate::ops::init::{config_values, display_ref, fetch_refspecs};
use crate::ops::policy::parse_checked;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How a row came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Works.
    Ok,
    /// Works, but something is missing or weaker than it could be.
    Warn,
    /// Broken: `doctor` exits non-zero.
    Fail,
}

impl Level {
    /// `ok`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One checked thing.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What was checked (stable names, e.g. `policy`, `control ledger`).
    pub check: String,
    /// ok, warn or fail.
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// What to do about a warn or fail (None when ok).
    pub fix: Option<String>,
}

/// All rows.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// False when any row failed.
    pub ok: bool,
    /// The rows, in a fixed order.
    pub rows: Vec<Row>,
}

fn row(check: &str, level: Level, detail: impl Into<String>, fix: Option<String>) -> Row {
    Row {
        check: check.to_string(),
        level,
        detail: detail.into(),
        fix,
    }
}

mod newcomer;
mod packs;

/// What doctor needs to know about how it was started.
pub struct DoctorContext {
    /// The repository.
    pub repo: Repo,
    /// The remote's name (from --remote, deploybot.remote or `origin`).
    pub remote: String,
    /// Read only local refs.
    pub offline: bool,
    /// The running binary (the hook should exec this one).
    pub binary: PathBuf,
    /// Who this clone writes records as (`--actor`, else the configured default).
    pub actor: String,
}

/// Runs every check.
pub fn diagnose(ctx: DoctorContext) -> anyhow::Result<DoctorReport> {
    let mut rows = vec![git_subcommand(), newcomer::manual_row(&ctx.binary)];
    let has_remote = ctx.repo.has_remote(&ctx.remote);
    let url = ctx
        .repo
        .config_string(&format!("remote.{}.url", ctx.remote));
    let workdir = ctx.repo.workdir();
    let store = Store::new(ctx.repo, &ctx.remote, ctx.offline);
    rows.push(remote_row(&store, &ctx.remote, url.as_deref()));
    rows.extend(config_rows(&store.repo, &ctx.remote, has_remote)?);
    let policy = policy_rows(&store, workdir.as_deref(), &mut rows)?;
    if let Some(policy) = &policy {
        rows.push(checks_row(policy));
        rows.push(actors_row(policy));
        rows.push(newcomer::writer_row(policy, &ctx.actor));
        rows.extend(signing_row(&store, policy)?);
        rows.extend(landing_row(policy));
    }
    rows.push(hook_row(
        store.is_remote(),
        url.as_deref(),
        workdir.as_deref(),
        &ctx.binary,
    ));
    let server = url
        .as_deref()
        .and_then(|u| local_server_path(u, workdir.as_deref()));
    rows.push(locks_row(store.repo.common_dir(), server.as_deref()));
    rows.push(rewound_row(&store, &ctx.remote)?);
    rows.push(refold_row::<ControlLedger>(&store, "control ledger")?);
    rows.push(refold_row::<QueueLedger>(&store, "queue ledger")?);
    rows.push(packs::pack_row(store.repo.pack_indexes()));
    let ok = rows.iter().all(|r| r.level != Level::Fail);
    Ok(DoctorReport { ok, rows })
}

fn git_subcommand() -> Row {
    let check = "git subcommand";
    let fix = Some("put git-deploybot on PATH, e.g. `cargo install --locked --path .`".to_string());
    let out = crate::git::run_git_anywhere(&["deploybot", "--version"]);
    let mine = format!("git-deploybot {}", env!("CARGO_PKG_VERSION"));
    match out {
        Ok(out) if out.status.success() => {
            let theirs = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if theirs == mine {
                row(
                    check,
                    Level::Ok,
                    format!("`git deploybot --version`: {theirs}"),
                    None,
                )
            } else {
                let detail = format!("`git deploybot` on PATH is {theirs}, this is {mine}");
                row(check, Level::Warn, detail, fix)
            }
        }
        _ => row(
            check,
            Level::Warn,
            "`git deploybot --version` does not run (git-deploybot is not on PATH)",
            fix,
        ),
    }
}

fn remote_row(store: &Store, remote: &str, url: Option<&str>) -> Row {
    let check = "remote";
    if !store.is_remote() {
        let detail = format!("no remote `{remote}` in use: the local refs are the source of truth");
        return row(check, Level::Ok, detail, None);
    }
    match store.refresh() {
        Ok(()) => row(
            check,
            Level::Ok,
            format!("fetched `{remote}` ({})", url.unwrap_or("?")),
            None,
        ),
        Err(err) => row(
            check,
            Level::Fail,
            format!("{err:#}"),
            Some(format!(
                "check `git remote get-url {remote}` and your access, or pass --offline"
            )),
        ),
    }
}

fn config_rows(repo: &Repo, remote: &str, has_remote: bool) -> anyhow::Result<Vec<Row>> {
    let init = Some("run `git deploybot init` (it adds only what is missing)".to_string());
    let mut rows = Vec::new();
    if has_remote {
        let present = config_values(repo, &format!("remote.{remote}.fetch"))?;
        let missing: Vec<String> = fetch_refspecs(remote)
            .into_iter()
            .filter(|s| !present.contains(s))
            .collect();
        rows.push(if missing.is_empty() {
            row(
                "fetch refspecs",
                Level::Ok,
                "plain `git fetch` mirrors refs/deploybot/* and refs/notes/deploybot/*",
                None,
            )
        } else {
            let detail = format!("remote.{remote}.fetch lacks {}", missing.join(" and "));
            row("fetch refspecs", Level::Warn, detail, init.clone())
        });
    }
    let wanted = display_ref(has_remote.then_some(remote));
    let present = config_values(repo, "notes.displayRef")?;
    rows.push(if present.contains(&wanted) {
        row(
            "notes display",
            Level::Ok,
            format!("`git log` shows notes from {wanted}"),
            None,
        )
    } else {
        row(
            "notes display",
            Level::Warn,
            format!("notes.displayRef lacks {wanted}"),
            init,
        )
    });
    Ok(rows)
}

/// The ledgers only grow: one whose tip no longer contains the tip doctor
/// saw last from this clone was rewound on the server.
fn rewound_row(store: &Store, remote: &str) -> anyhow::Result<Row> {
    let source = if store.is_remote() { remote } else { "local" };
    let mut lines = Vec::new();
    for ledger in [names::CONTROL, names::QUEUE] {
        let tip = store.tip(ledger)?;
        if let Some(r) = store.repo.check_rewound("doctor", source, ledger, tip)? {
            let now = r.now.map(|n| n.to_string());
            lines.push(crate::messages::ledger_rewound(
                &r.ledger,
                &r.seen.to_string(),
                now.as_deref(),
            ));
        }
    }
    Ok(if lines.is_empty() {
        row(
            "ledger history",
            Level::Ok,
            "the ledgers only grew since the last look",
            None,
        )
    } else {
        row(
            "ledger history",
            Level::Fail,
            lines.join("; "),
            Some("find who rewound them on the server; the records they held are gone from the state".into()),
        )
    })
}

/// Ref lock files a killed git process left in this clone (or in the
/// server, when it is a directory here): every write touching them fails.
fn locks_row(git_dir: &Path, server: Option<&Path>) -> Row {
    let mut stale = crate::git::locks::stale_locks_in(git_dir);
    if let Some(server) = server {
        stale.extend(crate::git::locks::stale_locks_in(server));
    }
    match stale.first() {
        None => row("locks", Level::Ok, "no ref lock left behind", None),
        Some(lock) => {
            let list: Vec<String> = stale
                .iter()
                .map(|l| format!("{} ({} s old)", l.path.display(), l.age.as_secs()))
                .collect();
            row(
                "locks",
                Level::Fail,
                format!(
                    "ref locks left by a killed git process: {}",
                    list.join(", ")
                ),
                Some(format!(
                    "if no git process is running there, remove them (rm '{}')",
                    lock.path.display()
                )),
            )
        }
    }
}

/// The policy row(s); returns the policy in force when it parses.
fn policy_rows(
    store: &Store,
    workdir: Option<&Path>,
    rows: &mut Vec<Row>,
) -> anyhow::Result<Option<Policy>> {
    let branch = store
        .repo
        .config_string("deploybot.baseBranch")
        .unwrap_or_else(|| Policy::default().queue.base_branch);
    let base_tip = store.tip(&names::branch_ref(&branch))?;
    let text = match base_tip {
        None => {
            let fix =
                format!("push `{branch}` (or set queue.base_branch and deploybot.baseBranch)");
            rows.push(row(
                "policy",
                Level::Fail,
                format!("the base branch `{branch}` does not exist"),
                Some(fix),
            ));
            return Ok(None);
        }
        Some(tip) => {
            let tree = store.repo.find_commit_info(tip)?.tree;
            store.repo.try_read_path(tree, POLICY_FILE)?
        }
    };
    let text = text.map(|b| String::from_utf8_lossy(&b).into_owned());
    // The policy in force, as the server resolves it (one step of
    // indirection, never more openly than the policy that named it).
    let tip_of = |name: &str| store.tip(name);
    let policy = match crate::ops::policy::policy_in_force(&store.repo, &tip_of)? {
        Ok(in_force) => {
            let detail = format!("in force: {}", in_force.source);
            rows.push(row("policy", Level::Ok, detail, None));
            Some(in_force.policy)
        }
        Err(err) => {
            let fix = format!(
                "fix {POLICY_FILE} and merge it into {branch} (a coordinator of the last readable policy may push the fix)"
            );
            rows.push(row("policy", Level::Fail, err.message, Some(fix)));
            None
        }
    };
    if let Some(dir) = workdir
        && let Ok(local) = std::fs::read_to_string(dir.join(POLICY_FILE))
        && Some(&local) != text.as_ref()
    {
        let state = newcomer::worktree_policy(&store.repo, &local, text.as_deref(), base_tip);
        if state == newcomer::WorktreePolicy::Behind {
            rows.push(row(
                "policy (working tree)",
                Level::Warn,
                format!("the checkout is behind {branch}: its .deploybot.toml is an older version, not an edit"),
                Some(format!("`git pull` (or check out {branch}) to see the policy in force; {branch}'s governs either way")),
            ));
            return Ok(policy);
        }
        // Advice the server will accept: a policy that parses, landed by a coordinator.
        let (detail, fix) = match parse_checked(&local, POLICY_FILE) {
            Ok(_) => (
                "the working tree's .deploybot.toml differs from the base branch's".to_string(),
                format!(
                    "commit it and land it on {branch} (request it; a policy change needs one of queue.coordinator_actors when actors are named); until then {branch}'s policy governs"
                ),
            ),
            Err(err) => (
                format!("the working tree's file does not parse: {}", err.message),
                format!(
                    "fix that first: the server refuses any {branch} whose .deploybot.toml does not parse"
                ),
            ),
        };
        rows.push(row("policy (working tree)", Level::Warn, detail, Some(fix)));
    }
    Ok(policy)
}

fn checks_row(policy: &Policy) -> Row {
    let (queue, pipeline) = (&policy.queue, &policy.pipeline);
    let fix =
        Some("name your CI's checks in queue.required_checks and pipeline.ci_checks".to_string());
    if queue.required_checks.is_empty() {
        return row(
            "required checks",
            Level::Warn,
            "queue.required_checks is empty: requests merge without any green check",
            fix,
        );
    }
    if pipeline.ci_checks.is_empty() {
        return row(
            "required checks",
            Level::Warn,
            "pipeline.ci_checks is empty: CI on main is never judged",
            fix,
        );
    }
    let detail = format!(
        "requests need {}; main's CI is {}; deploy is {}",
        queue.required_checks.join(", "),
        pipeline.ci_checks.join(", "),
        if pipeline.deploy_checks.is_empty() {
            "-".to_string()
        } else {
            pipeline.deploy_checks.join(", ")
        }
    );
    row("required checks", Level::Ok, detail, None)
}

fn actors_row(policy: &Policy) -> Row {
    let q = &policy.queue;
    if !policy.names_actors() {
        let fix = Some(
            "name queue.trusted_actors, coordinator_actors and ci_runners (see hooks/README.md)"
                .to_string(),
        );
        return row(
            "actors",
            Level::Warn,
            "the policy names no actors: the hook checks no identity, anyone who can push may pause, unpause, request and report",
            fix,
        );
    }
    let detail = format!(
        "{} trusted, {} coordinator(s), {} CI runner(s); identity from {}",
        q.trusted_actors.len(),
        q.coordinator_actors.len(),
        q.ci_runners.len(),
        policy.hook.identity_env.join(", ")
    );
    if q.coordinator_actors.is_empty() {
        let fix = Some(
            "name queue.coordinator_actors (they alone may then change the policy)".to_string(),
        );
        return row(
            "actors",
            Level::Warn,
            format!(
                "{detail}; no coordinator is named, so anyone who can push may change the policy and hold every role"
            ),
            fix,
        );
    }
    if !policy.hook.protect_base {
        let fix = Some(
            "set `protect_base = true` under [hook] so only coordinators move the base branch"
                .to_string(),
        );
        return row(
            "actors",
            Level::Warn,
            format!(
                "{detail}; hook.protect_base is off: anyone who can push may move the base branch (a policy change still needs a coordinator)"
            ),
            fix,
        );
    }
    row("actors", Level::Ok, detail, None)
}

/// Tested landing and the server's proof of it fit together.
fn landing_row(policy: &Policy) -> Option<Row> {
    use crate::core::policy::LandingMode;
    let tested = policy.queue.landing == LandingMode::Tested;
    let proves = policy.hook.require_tested_base;
    match (tested, proves) {
        (false, false) => None,
        (false, true) => Some(row(
            "landing",
            Level::Fail,
            "hook.require_tested_base is on but queue.landing is `merge`: the server refuses every merge the queue makes (a merge commit was never tested)",
            Some("set `landing = \"tested\"` under [queue], or turn require_tested_base off".to_string()),
        )),
        (true, _) if policy.pipeline.ci_checks.is_empty() => Some(row(
            "landing",
            Level::Warn,
            "tested landing with no pipeline.ci_checks: a candidate passes with no check at all",
            Some("name your CI's checks in pipeline.ci_checks".to_string()),
        )),
        (true, false) => Some(row(
            "landing",
            Level::Warn,
            format!("tested landing (depth {}) is on, but the server does not prove it: anyone who may move main can still push an untested commit", depth_text(policy)),
            Some("set `require_tested_base = true` under [hook] (with base_override_actors for break-glass)".to_string()),
        )),
        (true, true) => Some(row(
            "landing",
            Level::Ok,
            format!(
                "tested landing, depth {}, proven by the server (require_tested_base)",
                depth_text(policy)
            ),
            None,
        )),
    }
}

/// `3`, or `auto within 8`.
fn depth_text(policy: &Policy) -> String {
    match policy.queue.speculation_depth {
        crate::core::train::depth::SpeculationDepth::Fixed(n) => n.to_string(),
        crate::core::train::depth::SpeculationDepth::Auto => {
            format!("auto within {}", policy.queue.max_parallel_ci)
        }
    }
}

/// Signed controls: this clone can sign, and the allowed-signers file exists at the base tip.
fn signing_row(store: &Store, policy: &Policy) -> anyhow::Result<Option<Row>> {
    if !policy.control.signed {
        return Ok(None);
    }
    if let Some(problem) = crate::git::signing::signing_setup_problem(&store.repo) {
        return Ok(Some(row("signing", Level::Fail, problem, None)));
    }
    let path = &policy.control.allowed_signers;
    let listed = match store.tip(&policy.base_ref())? {
        Some(tip) => {
            let tree = store.repo.find_commit_info(tip)?.tree;
            store.repo.try_read_path(tree, path)?.is_some()
        }
        None => false,
    };
    if !listed {
        let fix = Some(format!(
            "commit `{path}` (ssh-keygen allowed-signers format: `<actor> namespaces=\"git\" <public key>`) to the base branch, as a coordinator"
        ));
        return Ok(Some(row(
            "signing",
            Level::Fail,
            format!(
                "control.signed is on but `{path}` is missing at the base branch tip: no control record counts"
            ),
            fix,
        )));
    }
    Ok(Some(row(
        "signing",
        Level::Ok,
        format!(
            "control records are signed with this clone's git signing setup and checked against `{path}`"
        ),
        None,
    )))
}

/// The server's path when `url` is a local path (`/srv/x.git`, `../x.git`, `file:///srv/x.git`).
pub fn local_server_path(url: &str, workdir: Option<&Path>) -> Option<PathBuf> {
    let path = match url.strip_prefix("file://") {
        Some(rest) => rest.to_string(),
        None if url.contains("://") => return None,
        // scp-like `host:path` has a colon before any slash.
        None if url
            .find(':')
            .is_some_and(|c| url.find('/').is_none_or(|s| c < s)) =>
        {
            return None;
        }
        None => url.to_string(),
    };
    let path = PathBuf::from(path);
    Some(match (path.is_relative(), workdir) {
        (true, Some(dir)) => dir.join(path),
        _ => path,
    })
}

fn hook_row(remote: bool, url: Option<&str>, workdir: Option<&Path>, binary: &Path) -> Row {
    let check = "server hook";
    let Some(url) = url.filter(|_| remote) else {
        return row(
            check,
            Level::Ok,
            "no server: the local refs are the truth (nothing to guard)",
            None,
        );
    };
    let Some(server) = local_server_path(url, workdir) else {
        let fix = Some("check the server's pre-receive hook by hand (hooks/README.md)".to_string());
        return row(
            check,
            Level::Warn,
            format!("{url} is not a local path; its hooks cannot be inspected from here"),
            fix,
        );
    };
    let install = format!("git deploybot hook install {}", server.display());
    let hook = server.join("hooks").join("pre-receive");
    let wanted = crate::ops::hook_install::hook_script(binary, "pre-receive");
    match std::fs::read_to_string(&hook) {
        Ok(found) if found == wanted => row(
            check,
            Level::Ok,
            format!("{} runs this binary", hook.display()),
            None,
        ),
        Ok(found) if found.contains(crate::ops::hook_install::MARKER) => row(
            check,
            Level::Warn,
            format!("{} runs another git-deploybot binary", hook.display()),
            Some(format!("`{install}` to point it at this one")),
        ),
        Ok(_) => row(
            check,
            Level::Warn,
            format!("{} is not git-deploybot's hook", hook.display()),
            Some(format!("merge it by hand, or `{install} --force`")),
        ),
        Err(_) => row(
            check,
            Level::Warn,
            format!(
                "{} has no pre-receive hook: the server does not guard the pipeline",
                server.display()
            ),
            Some(format!("`{install}`")),
        ),
    }
}

/// Re-folds a whole ledger from its root and compares with the snapshot readers trust.
fn refold_row<K: LedgerKind>(store: &Store, check: &str) -> anyhow::Result<Row> {
    if let Some(problem) = crate::ops::integrity::ledger_ref_problem(store, K::REF)? {
        let (detail, fix) = problem.split_once("; ").unwrap_or((&problem, ""));
        return Ok(row(check, Level::Fail, detail, Some(fix.to_string())));
    }
    let tip: Option<ObjectId> = store.tip(K::REF)?;
    let entries = ledger::list_records::<K>(&store.repo, tip)?;
    let mut state = K::State::default();
    let mut bad = Vec::new();
    for (commit, record) in &entries {
        match record {
            Ok(record) => state = K::fold(state, record),
            Err(why) => {
                state = K::fold_unreadable(state);
                bad.push(format!("{} {why}", &commit.to_string()[..12]));
            }
        }
    }
    let snapshot = ledger::read_state::<K>(&store.repo, tip)?;
    if snapshot.state != state {
        let detail = format!(
            "{}: the snapshot at the tip disagrees with a full re-fold of {} commits",
            K::REF,
            entries.len()
        );
        return Ok(row(
            check,
            Level::Fail,
            detail,
            Some(
                "report it with `git log --stat` of the ledger; the hook refuses such snapshots"
                    .to_string(),
            ),
        ));
    }
    if !bad.is_empty() {
        let detail = format!(
            "{} commits, {} ignored as malformed (first: {})",
            entries.len(),
            bad.len(),
            bad[0]
        );
        let fix = Some("nothing to repair (ignored records change nothing); find the writer with `git log` on the ledger".to_string());
        return Ok(row(check, Level::Warn, detail, fix));
    }
    let detail = format!(
        "{} commits; a full re-fold matches the snapshot",
        entries.len()
    );
    Ok(row(check, Level::Ok, detail, None))
}
