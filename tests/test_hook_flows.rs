//! Every flow of the tool passes through the guarded server: pause, unpause,
//! request, cancel, block, unblock, react (merge, pause, watermark), ci and
//! deploy report, claim-repair and the repair landing during a recovery.

mod common;
use common::{Clone, World};
use serde_json::Value;

/// Actors named for every role, main protected.
const ACTORS: &str = r#"[queue]
trusted_actors = ["dev", "ops"]
coordinator_actors = ["coord"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0

[hook]
protect_base = true
"#;

/// Runs the tool in `c`, as `user` when given (GL_USER reaches the hook via git push).
fn run_as(c: &Clone, user: Option<&str>, args: &[&str]) -> String {
    // Records name their writer, and the hook checks it is the pusher.
    let mut all: Vec<&str> = user.map(|u| vec!["--actor", u]).unwrap_or_default();
    all.extend_from_slice(args);
    let mut cmd = c.deploybot(&all);
    if let Some(user) = user {
        cmd.env("GL_USER", user);
    }
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "deploybot {args:?} as {user:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"))
}

/// The whole delivery story; `who(role)` names the pusher for each role.
fn delivery_story(policy: &str, who: fn(&str) -> Option<&'static str>) {
    let w = World::with_policy(policy);
    w.install_deploybot_hooks();
    let (dev, coord, ops, ci) = (
        w.clone_as("dev"),
        w.clone_as("coord"),
        w.clone_as("ops"),
        w.clone_as("ci"),
    );
    let report = |kind: &str, sha: &str, check: &str, status: &str| {
        run_as(
            &ci,
            who("ci"),
            &[
                kind, "report", "--sha", sha, "--check", check, "--status", status,
            ],
        );
    };
    // Work is requested green and merged by the coordinator (base, queue, first watermark).
    let a = dev.push_branch("feature/a", "a.txt", "a\n");
    report("ci", &a, "CI", "success");
    run_as(&dev, who("dev"), &["request", "feature/a"]);
    let r = json(&run_as(&coord, who("coord"), &["react", "--json"]));
    assert_eq!(r["state"], "complete", "{r}");
    assert_eq!(r["merged"][0]["branch"], "feature/a");
    let failed = w.server_ref("refs/heads/main").expect("main");
    assert!(
        w.server_ref("refs/deploybot/verified").is_some(),
        "first-install watermark"
    );
    // Queue edits by a trusted actor.
    let b = dev.push_branch("feature/b", "b.txt", "b\n");
    run_as(&dev, who("dev"), &["request", "feature/b", "--sha", &b]);
    run_as(
        &dev,
        who("dev"),
        &["block", "feature/b", "--reason", "needs review"],
    );
    run_as(&dev, who("dev"), &["unblock", "feature/b"]);
    run_as(&dev, who("dev"), &["cancel", "feature/b"]);
    // CI fails on main: the coordinator pauses.
    report("ci", &failed, "CI", "failure");
    let r = json(&run_as(&coord, who("coord"), &["react", "--json"]));
    assert_eq!(r["paused_with"], format!("ci-failed on {failed}"), "{r}");
    // A repair is claimed, built on the lease, made green and requested.
    let claim = json(&run_as(
        &dev,
        who("dev"),
        &["claim-repair", "--owner", "dev", "--json"],
    ));
    assert_eq!(claim["state"], "created", "{claim}");
    let repair = format!("deploybot/repair/{}", &failed[..12]);
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", &repair, &format!("origin/{repair}")]);
    let fix = dev.commit_file("fix.txt", "fixed\n", "fix main");
    let env: Vec<(&str, &str)> = who("dev").map(|u| ("GL_USER", u)).into_iter().collect();
    let out = dev.git_env(
        &["push", "origin", &format!("HEAD:refs/heads/{repair}")],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report("ci", &fix, "CI", "success");
    run_as(&dev, who("dev"), &["request", &repair]);
    // The operator unpauses; the coordinator lands the repair alone.
    let (id, sha) = ops.pause_ids();
    run_as(
        &ops,
        who("ops"),
        &["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"],
    );
    let r = json(&run_as(&coord, who("coord"), &["react", "--json"]));
    assert_eq!(r["state"], "complete", "{r}");
    assert_eq!(r["merged"][0]["branch"], repair.as_str());
    let new_main = w.server_ref("refs/heads/main").expect("main");
    assert_eq!(
        w.server_git(&["rev-parse", &format!("{new_main}^1")]),
        failed
    );
    // The new main is followed: CI and deploy results land on it.
    report("ci", &new_main, "CI", "success");
    report("deploy", &new_main, "Deploy", "success");
    let s = ops.status();
    assert_eq!(s["control"]["state"], "running");
    assert_eq!(s["main"]["release"]["state"], "verified", "{s}");
    // A plain pause by an operator, then a recovery through unpause (which wakes react).
    run_as(&ops, who("ops"), &["pause", "--reason", "operator hold"]);
    assert_eq!(ops.control("state"), "paused");
}

#[test]
fn the_delivery_story_passes_a_guarded_server_with_actors_named() {
    delivery_story(ACTORS, |role| match role {
        "dev" => Some("dev"),
        "coord" => Some("coord"),
        "ops" => Some("ops"),
        _ => Some("ci"),
    });
}

#[test]
fn the_delivery_story_passes_a_guarded_server_with_no_actors() {
    delivery_story("[pipeline]\nci_failure_grace_seconds = 0\n", |_| None);
}

#[test]
fn unpause_waking_react_passes_the_hook() {
    let w = World::with_policy("[pipeline]\nci_failure_grace_seconds = 0\n");
    w.install_deploybot_hooks();
    let c = w.clone_as("ops");
    c.ok(&["pause", "--reason", "ci-failed on main"]);
    let (id, sha) = c.pause_ids();
    let out = c.ok(&["unpause", "--sha", &sha, "--control-id", &id]);
    assert!(
        !out.contains("deferred"),
        "the wake-up ran through the hook: {out}"
    );
    assert_eq!(c.control("state"), "running");
}

#[test]
fn runners_and_follow_pass_a_guarded_server() {
    let policy = ACTORS.replace(
        "ci_failure_grace_seconds = 0\n",
        "ci_failure_grace_seconds = 0\ndeploy_command = \"true\"\n",
    );
    let w = World::with_policy(&policy);
    w.install_deploybot_hooks();
    let (dev, coord, ci) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ci"));
    let a = dev.push_branch("feature/a", "a.txt", "a\n");
    // A CI runner claims the requested head, runs, reports (notes: ci_runners).
    run_as(&dev, Some("dev"), &["request", "feature/a"]);
    let out = run_as(
        &ci,
        Some("ci"),
        &["ci", "run", "--check", "CI", "--sha", &a, "--", "true"],
    );
    assert!(out.contains("passed") && out.contains(&a[..12]), "{out}");
    run_as(&coord, Some("coord"), &["react"]);
    let main = w.server_ref("refs/heads/main").expect("main");
    run_as(
        &ci,
        Some("ci"),
        &["ci", "run", "--check", "CI", "--", "true"],
    );
    // The coordinator follows: deploy_command, then the watermark (coordinator_actors).
    let report = json(&run_as(
        &coord,
        Some("coord"),
        &["follow", "--json", "--poll", "1", "--timeout", "20"],
    ));
    assert_eq!(report["outcome"], "reached", "{report}");
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(main.as_str())
    );
    // A failing run, then follow pausing on the failure, through the hook.
    let b = dev.push_branch("feature/b", "b.txt", "b\n");
    run_as(
        &ci,
        Some("ci"),
        &[
            "ci", "report", "--sha", &b, "--check", "CI", "--status", "success",
        ],
    );
    run_as(&dev, Some("dev"), &["request", "feature/b"]);
    run_as(&coord, Some("coord"), &["react"]);
    let failing = w.server_ref("refs/heads/main").expect("main");
    let out = ci
        .deploybot(&["ci", "run", "--check", "CI", "--", "false"])
        .env("GL_USER", "ci")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(6));
    let out = coord
        .deploybot(&[
            "--actor",
            "coord",
            "follow",
            "--json",
            "--poll",
            "1",
            "--timeout",
            "10",
        ])
        .env("GL_USER", "coord")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(coord.control("reason"), format!("ci-failed on {failing}"));
}
