//! Act one: a guarded server, a policy, two merges, a failure on main, the
//! pause, and a repair claimed, fixed, made green and requested.

use super::roles::{COORDINATOR, DEV, OLD_WORKER, OPERATOR, RUNNER, SEED};
use super::world::SERVER;
use super::{Demo, short, text_at};
use anyhow::{Result, bail};
use serde_json::Value;

/// What act one leaves for act two.
pub struct Facts {
    /// The main commit whose CI failed.
    pub failed: String,
    /// The repair lease branch.
    pub repair_branch: String,
    /// The repair's head (the fix).
    pub fix: String,
}

/// Plays act one.
pub fn play(demo: &mut Demo) -> Result<Facts> {
    guarded_server(demo)?;
    policy_on_main(demo)?;
    clones(demo)?;
    let failed = merge_two(demo)?;
    failure_pauses(demo, &failed)?;
    let (repair_branch, fix) = repair(demo, &failed)?;
    nothing_merges_while_paused(demo, &failed)?;
    Ok(Facts {
        failed,
        repair_branch,
        fix,
    })
}

fn guarded_server(demo: &mut Demo) -> Result<()> {
    demo.show
        .step("A bare server repository with the pre-receive hook installed");
    let ran = demo
        .world
        .git(&["init", "-q", "--bare", "-b", "main", SERVER])?;
    demo.show.ran(&ran, 3);
    let ran = demo.world.deploybot("", &["hook", "install", SERVER])?;
    demo.show.ran(&ran, 3);
    let hook =
        std::fs::read_to_string(demo.world.server().join("hooks/pre-receive")).unwrap_or_default();
    demo.show.expect(
        ran.ok() && hook.contains(crate::ops::hook_install::MARKER),
        "server.git/hooks/pre-receive runs this binary's `hook pre-receive`",
        ran.first_error().to_string(),
    );
    Ok(())
}

fn policy_on_main(demo: &mut Demo) -> Result<()> {
    demo.show
        .step("A starter policy on main, with no CI grace so a failure counts at once");
    let w = &demo.world;
    demo.show.ran(&w.git(&["clone", "-q", SERVER, SEED])?, 2);
    w.git_in_ok(SEED, &["config", "user.name", SEED])?;
    w.git_in_ok(SEED, &["config", "user.email", "seed@demo.invalid"])?;
    let ran = w.deploybot(SEED, &["init"])?;
    demo.show.ran(&ran, 6);
    let path = w.root.join(SEED).join(crate::core::policy::POLICY_FILE);
    let starter = std::fs::read_to_string(&path).unwrap_or_default();
    let from = "ci_failure_grace_seconds = 90";
    demo.show.expect(
        ran.ok() && starter.contains(from),
        "init wrote the commented starter .deploybot.toml",
        ran.first_error().to_string(),
    );
    std::fs::write(&path, starter.replace(from, "ci_failure_grace_seconds = 0"))?;
    demo.show
        .note("     (edited: ci_failure_grace_seconds = 0 — no retry window in a demo)");
    w.git_in_ok(SEED, &["add", ".deploybot.toml"])?;
    w.git_in_ok(SEED, &["commit", "-q", "-m", "deploybot policy"])?;
    let ran = w.git_in(SEED, &["push", "-q", "origin", "HEAD:refs/heads/main"])?;
    demo.show.ran(&ran, 3);
    let main = w.server_ref("refs/heads/main")?;
    demo.show.expect(
        ran.ok() && main.is_some(),
        "the server accepted main with the policy",
        ran.first_error().to_string(),
    );
    Ok(())
}

fn clones(demo: &mut Demo) -> Result<()> {
    demo.show
        .step("A clone per role: developer, coordinator, operator, CI runner, an older worker");
    for name in [DEV, COORDINATOR, OPERATOR, RUNNER, OLD_WORKER] {
        demo.world.clone_as(name)?;
        demo.show.line(&format!(
            "   $ git clone -q {SERVER} {name}   # user.name {name}"
        ));
    }
    let status = demo.state()?;
    demo.show.expect_eq(
        &text_at(&status, &["control", "state"]),
        "running",
        "the pipeline starts running",
    );
    Ok(())
}

/// Pushes a branch from the server's main with one new file; returns its head.
fn push_branch(demo: &mut Demo, branch: &str, file: &str) -> Result<String> {
    let w = &demo.world;
    w.git_in_ok(DEV, &["fetch", "-q", "origin"])?;
    w.git_in_ok(DEV, &["checkout", "-q", "-B", branch, "origin/main"])?;
    let head = w.commit_file(
        DEV,
        file,
        &format!("{branch}\n"),
        &format!("work on {branch}"),
    )?;
    let ran = w.git_in(DEV, &["push", "-q", "origin", branch])?;
    demo.show.ran(&ran, 2);
    if !ran.ok() {
        bail!("pushing {branch} failed: {}", ran.first_error());
    }
    Ok(head)
}

/// Runs `ci report` (or `deploy report`) from the runner and shows it.
pub fn report(demo: &mut Demo, kind: &str, sha: &str, check: &str, status: &str) -> Result<bool> {
    let args = [
        kind, "report", "--sha", sha, "--check", check, "--status", status,
    ];
    let ran = demo.world.deploybot(RUNNER, &args)?;
    demo.show.ran(&ran, 2);
    Ok(demo.show.expect(
        ran.ok(),
        &format!("{check} {status} recorded on {}", short(sha)),
        ran.first_error().to_string(),
    ))
}

/// Runs `request` from the developer and shows it.
fn request(demo: &mut Demo, branch: &str) -> Result<()> {
    let ran = demo.world.deploybot(DEV, &["request", branch])?;
    demo.show.ran(&ran, 2);
    demo.show.expect(
        ran.ok(),
        &format!("{branch} is queued at its exact head"),
        ran.first_error().to_string(),
    );
    Ok(())
}

/// Runs `react --json` from the coordinator and shows a one-line summary.
pub fn react(demo: &mut Demo) -> Result<Value> {
    let ran = demo.world.deploybot(COORDINATOR, &["react", "--json"])?;
    demo.show.ran(&ran, 0);
    let r = ran.json();
    if !ran.ok() || r.is_null() {
        bail!("`{}` failed: {}", ran.shown, ran.first_error());
    }
    let merged: Vec<String> = r["merged"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|e| {
                    let sha = text_at(e, &["merge_sha"]);
                    format!("{} → {}", text_at(e, &["branch"]), short(&sha))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut line = format!("     state {}", text_at(&r, &["state"]));
    if !merged.is_empty() {
        line.push_str(&format!(" · merged {}", merged.join(", ")));
    }
    let paused_with = text_at(&r, &["paused_with"]);
    if !paused_with.is_empty() {
        line.push_str(&format!(" · paused the pipeline: {paused_with}"));
    }
    demo.show.line(&line);
    Ok(r)
}

fn merged_branches(r: &Value) -> Vec<String> {
    r["merged"]
        .as_array()
        .map(|m| m.iter().map(|e| text_at(e, &["branch"])).collect())
        .unwrap_or_default()
}

fn merge_two(demo: &mut Demo) -> Result<String> {
    demo.show
        .step("Two branches pushed, green on their exact heads, requested");
    let a = push_branch(demo, "feature/a", "a.txt")?;
    let b = push_branch(demo, "feature/b", "b.txt")?;
    report(demo, "ci", &a, "CI", "success")?;
    report(demo, "ci", &b, "CI", "success")?;
    request(demo, "feature/a")?;
    request(demo, "feature/b")?;
    demo.state()?;

    demo.show.step("The coordinator merges them in order");
    let r = react(demo)?;
    let main = demo
        .world
        .server_ref("refs/heads/main")?
        .unwrap_or_default();
    demo.show.expect_eq(
        &text_at(&r, &["state"]),
        "complete",
        "react completes its pass",
    );
    demo.show.expect_eq(
        &merged_branches(&r).join(" "),
        "feature/a feature/b",
        "feature/a then feature/b merged (FIFO)",
    );
    demo.show.expect_eq(
        &text_at(&r, &["new_base_sha"]),
        &main,
        "the server's main is the new merge",
    );
    demo.state()?;
    Ok(main)
}

fn failure_pauses(demo: &mut Demo, failed: &str) -> Result<()> {
    demo.show.step("CI fails on the new main");
    report(demo, "ci", failed, "CI", "failure")?;
    demo.state()?;

    demo.show
        .step("The coordinator's next pass pauses the pipeline");
    let r = react(demo)?;
    demo.show.expect_eq(
        &text_at(&r, &["paused_with"]),
        &format!("ci-failed on {failed}"),
        "react appended the pause `ci-failed on <main>`",
    );
    let status = demo.state()?;
    demo.show.expect_eq(
        &text_at(&status, &["control", "state"]),
        "paused",
        "the pipeline is paused",
    );
    Ok(())
}

fn repair(demo: &mut Demo, failed: &str) -> Result<(String, String)> {
    demo.show.step("A repair is claimed (one winner)");
    let ran = demo
        .world
        .deploybot(DEV, &["claim-repair", "--owner", "dev", "--json"])?;
    demo.show.ran(&ran, 0);
    let claim = ran.json();
    let branch = text_at(&claim, &["branch"]);
    demo.show
        .line(&format!("     {} {branch}", text_at(&claim, &["state"])));
    let wanted = format!("deploybot/repair/{}", short(failed));
    demo.show.expect(
        ran.ok() && text_at(&claim, &["state"]) == "created" && branch == wanted,
        &format!("dev created the lease branch {wanted}"),
        format!("{} {}", ran.out(), ran.first_error()),
    );
    if branch != wanted {
        bail!("no repair lease to build on");
    }
    demo.state()?;

    demo.show
        .step("The repair is fixed on top of the lease, made green and requested");
    let w = &demo.world;
    w.git_in_ok(DEV, &["fetch", "-q", "origin"])?;
    let tracking = format!("origin/{branch}");
    w.git_in_ok(DEV, &["checkout", "-q", "-B", &branch, &tracking])?;
    let fix = w.commit_file(DEV, "fix.txt", "fixed\n", "fix what broke main")?;
    let refspec = format!("HEAD:refs/heads/{branch}");
    let ran = w.git_in(DEV, &["push", "-q", "origin", &refspec])?;
    demo.show.ran(&ran, 2);
    demo.show.expect(
        ran.ok(),
        "the fix is pushed on the lease branch",
        ran.first_error().to_string(),
    );
    report(demo, "ci", &fix, "CI", "success")?;
    request(demo, &branch)?;
    demo.state()?;
    Ok((branch, fix))
}

fn nothing_merges_while_paused(demo: &mut Demo, failed: &str) -> Result<()> {
    demo.show
        .step("While paused, the coordinator merges nothing");
    let r = react(demo)?;
    demo.show
        .expect_eq(&text_at(&r, &["state"]), "paused", "react reports paused");
    let main = demo
        .world
        .server_ref("refs/heads/main")?
        .unwrap_or_default();
    demo.show
        .expect_eq(&main, failed, "main is still the failed commit");
    Ok(())
}
