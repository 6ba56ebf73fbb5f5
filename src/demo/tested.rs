//! The second act, in tested landing (`queue.landing = "tested"`): a semantic
//! conflict caught before main moves. Two branches, each green on its own,
//! break CI together (one renames a function, the other adds a call to the
//! old name: no textual conflict). The train has room, so the coordinator
//! builds a candidate per entry, stacked on try branches: feature/rename on
//! main, feature/banner on it. The first passes and main fast-forwards to
//! exactly that tested commit (its CI already on it); the second fails, so it
//! is named at once and blocked, and main never held it. Main is never red.
//!
//! The runner's CI is real: it checks each commit out in a worktree and runs
//! the repository's `ci.sh`, and reports what it saw.

use super::roles::{COORDINATOR, DEV, RUNNER};
use super::story::report;
use super::world::SERVER;
use super::{Demo, short, text_at};
use anyhow::{Result, bail};
use serde_json::Value;

/// The library on main: one function.
const LIB: &str = "greet() { echo \"hello, $1\"; }\n";
/// The program on main that calls it.
const APP: &str = ". ./lib.sh\ngreet world\n";
/// The repository's CI: every program in bin/ runs to its end.
const CI_SCRIPT: &str = "# CI: every program in bin/ runs to its end.\n\
for program in bin/*.sh; do\n  \
if sh -e \"$program\" 2>&1; then echo \"ok   $program\"; else echo \"FAIL $program\"; exit 1; fi\n\
done\n";

/// A candidate as `react --json` built it.
struct Built {
    id: String,
    sha: String,
}

/// Plays the second act.
pub fn play(demo: &mut Demo) -> Result<()> {
    demo.show.line("");
    demo.show.line(
        "Second act: a semantic conflict caught before main moves (queue.landing = \"tested\")",
    );
    let before = server_main(demo)?;
    let start = switch_to_tested(demo)?;
    two_green_branches(demo)?;
    let (first, second) = a_candidate_each(demo, &start)?;
    together_they_fail(demo, &start, &first, &second)?;
    land_and_block(demo, &first, &second)?;
    never_red(demo, &before, &[&start, &first.sha], &[&second])?;
    Ok(())
}

fn server_main(demo: &Demo) -> Result<String> {
    Ok(demo
        .world
        .server_ref("refs/heads/main")?
        .unwrap_or_default())
}

/// Writes `files` in `clone`, commits them and returns the new sha.
fn commit_files(demo: &Demo, clone: &str, files: &[(&str, &str)], message: &str) -> Result<String> {
    let w = &demo.world;
    for (file, text) in files {
        let path = w.root.join(clone).join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text)?;
        w.git_in_ok(clone, &["add", file])?;
    }
    w.git_in_ok(clone, &["commit", "-q", "-m", message])?;
    w.git_in_ok(clone, &["rev-parse", "HEAD"])
}

/// The runner checks `sha` out in a worktree, runs `ci.sh` there and reports
/// what it saw as the `CI` check; returns true when the check passed.
fn run_ci(demo: &mut Demo, sha: &str) -> Result<bool> {
    let w = &demo.world;
    w.git_in_ok(RUNNER, &["fetch", "-q", "origin"])?;
    let dir = format!("ci-{}", short(sha));
    let path = format!("../{dir}");
    let ran = w.git_in(RUNNER, &["worktree", "add", "-q", "--detach", &path, sha])?;
    demo.show.ran(&ran, 2);
    if !ran.ok() {
        bail!("`{}` failed: {}", ran.shown, ran.first_error());
    }
    let ran = demo.world.sh_in(&dir, "ci.sh")?;
    demo.show.ran(&ran, 4);
    let status = if ran.ok() { "success" } else { "failure" };
    report(demo, "ci", sha, "CI", status)?;
    Ok(ran.ok())
}

/// Runs `react --json` from the coordinator and shows what the pass did to the train.
fn react(demo: &mut Demo) -> Result<Value> {
    let ran = demo.world.deploybot(COORDINATOR, &["react", "--json"])?;
    demo.show.ran(&ran, 0);
    let r = ran.json();
    if !ran.ok() || r.is_null() {
        bail!("`{}` failed: {}", ran.shown, ran.first_error());
    }
    demo.show
        .line(&format!("     state {}", text_at(&r, &["state"])));
    for d in list(&r, "discarded") {
        demo.show.line(&format!(
            "     discarded {}: {}",
            text_at(d, &["candidate_id"]),
            text_at(d, &["reason"])
        ));
    }
    for b in list(&r, "blocked") {
        demo.show.line(&format!(
            "     blocked {}: {}",
            text_at(b, &["branch"]),
            text_at(b, &["reason"])
        ));
    }
    for c in list(&r, "landed") {
        demo.show.line(&format!(
            "     landed {} [{}]: main → {}",
            text_at(c, &["candidate_id"]),
            branches(c).join(" + "),
            short(&text_at(c, &["sha"]))
        ));
    }
    for c in list(&r, "built") {
        demo.show.line(&format!(
            "     built {} [{}] = {} on {} (deploybot/try/{})",
            text_at(c, &["candidate_id"]),
            branches(c).join(" + "),
            short(&text_at(c, &["sha"])),
            short(&text_at(c, &["base_sha"])),
            text_at(c, &["candidate_id"])
        ));
    }
    Ok(r)
}

fn list<'v>(value: &'v Value, key: &str) -> Vec<&'v Value> {
    value[key]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn branches(candidate: &Value) -> Vec<String> {
    list(candidate, "entries")
        .into_iter()
        .map(|e| text_at(e, &["branch"]))
        .collect()
}

fn built(candidate: &Value) -> Built {
    Built {
        id: text_at(candidate, &["candidate_id"]),
        sha: text_at(candidate, &["sha"]),
    }
}

/// The operator's status, plus one line for the train.
fn state(demo: &mut Demo) -> Result<Value> {
    let status = demo.state()?;
    let train: Vec<String> = list(&status, "candidates")
        .into_iter()
        .map(|c| {
            format!(
                "{} [{}] {}",
                text_at(c, &["candidate_id"]),
                branches(c).join(" + "),
                text_at(c, &["state"])
            )
        })
        .collect();
    if !train.is_empty() {
        demo.show.state(&format!("train: {}", train.join(", ")));
    }
    Ok(status)
}

fn try_ref(id: &str) -> String {
    format!("refs/heads/{}", crate::core::train::try_branch(id))
}

fn switch_to_tested(demo: &mut Demo) -> Result<String> {
    demo.show
        .step("The coordinator switches main to tested landing (and adds a tiny app with its CI)");
    let w = &demo.world;
    w.git_in_ok(COORDINATOR, &["fetch", "-q", "origin"])?;
    w.git_in_ok(
        COORDINATOR,
        &["checkout", "-q", "-B", "main", "origin/main"],
    )?;
    let files = [("lib.sh", LIB), ("bin/app.sh", APP), ("ci.sh", CI_SCRIPT)];
    commit_files(
        demo,
        COORDINATOR,
        &files,
        "app: greet() in lib.sh, bin/app.sh calls it; ci.sh runs bin/*",
    )?;
    demo.show.note(
        "     lib.sh defines greet(); bin/app.sh calls it; ci.sh runs every bin/*.sh to its end",
    );
    let path = demo
        .world
        .root
        .join(COORDINATOR)
        .join(crate::core::policy::POLICY_FILE);
    let mut policy = std::fs::read_to_string(&path)?;
    let edits = [
        ("landing = \"merge\"", "landing = \"tested\""),
        ("max_batch_size = 3", "max_batch_size = 2"),
        ("max_retries = 1", "max_retries = 0"),
    ];
    let mut missing = Vec::new();
    for (from, to) in edits {
        if policy.contains(from) {
            policy = policy.replacen(from, to, 1);
        } else {
            missing.push(from);
        }
    }
    std::fs::write(&path, &policy)?;
    demo.show.note(
        "     (edited: landing = \"tested\", max_batch_size = 2, max_retries = 0; the grace is already 0)",
    );
    let grace_zero = policy.contains("ci_failure_grace_seconds = 0");
    demo.show.expect(
        missing.is_empty() && grace_zero,
        "the policy reads landing = \"tested\", max_batch_size = 2, max_retries = 0, grace 0",
        format!("not found: {missing:?}; grace 0: {grace_zero}"),
    );
    let w = &demo.world;
    w.git_in_ok(COORDINATOR, &["add", ".deploybot.toml"])?;
    w.git_in_ok(
        COORDINATOR,
        &["commit", "-q", "-m", "deploybot policy: tested landing"],
    )?;
    let head = w.git_in_ok(COORDINATOR, &["rev-parse", "HEAD"])?;
    let ran = w.git_in(
        COORDINATOR,
        &["push", "-q", "origin", "HEAD:refs/heads/main"],
    )?;
    demo.show.ran(&ran, 3);
    demo.show.note(
        "     (the policy names no coordinator_actors, so the hook lets anyone change it; with names, only a coordinator may)",
    );
    let main = server_main(demo)?;
    demo.show.expect(
        ran.ok() && main == head,
        "the hook accepted the policy change: main is the coordinator's commit",
        format!("{} main {}", ran.first_error(), short(&main)),
    );

    demo.show
        .step("The runner tests the new main the usual way: green");
    let passed = run_ci(demo, &main)?;
    demo.show
        .expect(passed, "ci.sh passes on main", "ci.sh failed on main");
    let status = state(demo)?;
    demo.show.expect(
        text_at(&status, &["main", "sha"]) == main
            && text_at(&status, &["main", "release", "state"]) == "awaiting-deploy",
        "main's release is awaiting-deploy",
        super::state_line(&status),
    );
    Ok(main)
}

/// Pushes `branch` from the server's main with `files` changed; returns its head.
fn push_branch(demo: &mut Demo, branch: &str, files: &[(&str, &str)]) -> Result<String> {
    let w = &demo.world;
    w.git_in_ok(DEV, &["fetch", "-q", "origin"])?;
    w.git_in_ok(DEV, &["checkout", "-q", "-B", branch, "origin/main"])?;
    let head = commit_files(demo, DEV, files, &format!("work on {branch}"))?;
    let ran = demo.world.git_in(DEV, &["push", "-q", "origin", branch])?;
    demo.show.ran(&ran, 2);
    if !ran.ok() {
        bail!("pushing {branch} failed: {}", ran.first_error());
    }
    Ok(head)
}

fn two_green_branches(demo: &mut Demo) -> Result<()> {
    demo.show
        .step("Two branches, each green on its own: a rename, and a new call to the old name");
    let rename = push_branch(
        demo,
        "feature/rename",
        &[
            ("lib.sh", "welcome() { echo \"hello, $1\"; }\n"),
            ("bin/app.sh", ". ./lib.sh\nwelcome world\n"),
        ],
    )?;
    demo.show
        .note("     feature/rename: greet() becomes welcome(), and its one caller follows");
    let banner = push_branch(
        demo,
        "feature/banner",
        &[("bin/banner.sh", ". ./lib.sh\ngreet \"release train\"\n")],
    )?;
    demo.show
        .note("     feature/banner: a new program, bin/banner.sh, calling greet()");
    for (branch, head) in [("feature/rename", &rename), ("feature/banner", &banner)] {
        let passed = run_ci(demo, head)?;
        demo.show.expect(
            passed,
            &format!("{branch} is green on its exact head"),
            "ci.sh failed",
        );
    }
    for branch in ["feature/rename", "feature/banner"] {
        let ran = demo.world.deploybot(DEV, &["request", branch])?;
        demo.show.ran(&ran, 2);
        demo.show.expect(
            ran.ok(),
            &format!("{branch} is queued at its exact head"),
            ran.first_error().to_string(),
        );
    }
    state(demo)?;
    Ok(())
}

fn a_candidate_each(demo: &mut Demo, main: &str) -> Result<(Built, Built)> {
    demo.show.step(
        "The coordinator builds a candidate per entry (the train has room), stacked on try branches; main does not move",
    );
    let r = react(demo)?;
    let made = list(&r, "built");
    if made.len() != 2 {
        demo.show
            .expect(false, "two candidates built", r["built"].to_string());
        bail!("no candidates to follow: {r}");
    }
    let (first, second) = (built(made[0]), built(made[1]));
    demo.show.expect(
        branches(made[0]) == ["feature/rename"] && branches(made[1]) == ["feature/banner"],
        "[feature/rename], then [feature/banner] in request order",
        r["built"].to_string(),
    );
    demo.show.expect(
        text_at(made[0], &["base_sha"]) == main && text_at(made[1], &["base_sha"]) == first.sha,
        "stacked: the first on main, the second on the first (it holds both branches)",
        r["built"].to_string(),
    );
    let now = server_main(demo)?;
    demo.show.expect_eq(&now, main, "main did not move");
    for c in [&first, &second] {
        let tip = demo.world.server_ref(&try_ref(&c.id))?;
        demo.show.expect(
            tip.as_deref() == Some(c.sha.as_str()),
            &format!(
                "the server holds deploybot/try/{} at the candidate's tip",
                c.id
            ),
            format!("{tip:?}"),
        );
    }
    let status = state(demo)?;
    let testing = list(&status, "queue")
        .iter()
        .filter(|e| text_at(e, &["state"]) == "testing")
        .count();
    demo.show.expect(
        testing == 2,
        "both entries read testing",
        super::state_line(&status),
    );
    Ok((first, second))
}

fn together_they_fail(demo: &mut Demo, main: &str, first: &Built, second: &Built) -> Result<()> {
    demo.show.step(
        "The runner finds the candidates first and tests each tree: the rename alone passes; with the banner on it, CI breaks",
    );
    let ran = demo.world.deploybot(RUNNER, &["ci", "pending"])?;
    demo.show.ran(&ran, 4);
    // The first row after the header.
    let row = ran.stdout.lines().nth(1).unwrap_or_default();
    demo.show.expect(
        ran.ok() && row.starts_with("candidate") && row.contains(&first.sha[..12]),
        "ci pending lists the candidates first",
        row.to_string(),
    );
    let passed = run_ci(demo, &first.sha)?;
    demo.show.expect(
        passed,
        &format!("{} (feature/rename on main) is green", first.id),
        "ci.sh failed",
    );
    let passed = run_ci(demo, &second.sha)?;
    demo.show.note(
        "     no textual conflict: the rename and the new call merge cleanly, and greet() is gone",
    );
    demo.show.expect(
        !passed,
        &format!(
            "{} fails: bin/banner.sh calls greet(), which no longer exists",
            second.id
        ),
        "ci.sh passed",
    );
    let status = state(demo)?;
    demo.show.expect(
        text_at(&status, &["main", "sha"]) == main
            && text_at(&status, &["main", "release", "state"]) == "awaiting-deploy"
            && text_at(&status, &["control", "state"]) == "running",
        "main is untouched and still green; nothing pauses",
        super::state_line(&status),
    );
    Ok(())
}

fn land_and_block(demo: &mut Demo, first: &Built, second: &Built) -> Result<()> {
    demo.show
        .step("The coordinator lands the first (main fast-forwards to it) and blocks the culprit");
    let r = react(demo)?;
    let landed = list(&r, "landed");
    demo.show.expect(
        landed.len() == 1
            && landed
                .first()
                .is_some_and(|c| text_at(c, &["candidate_id"]) == first.id),
        &format!("{} landed", first.id),
        r["landed"].to_string(),
    );
    let main = server_main(demo)?;
    demo.show.expect_eq(
        &main,
        &first.sha,
        "main is exactly the commit that was tested (a fast-forward, no new merge)",
    );
    let merged: Vec<String> = list(&r, "merged")
        .into_iter()
        .map(|e| text_at(e, &["branch"]))
        .collect();
    demo.show.expect_eq(
        &merged.join(" "),
        "feature/rename",
        "feature/rename is merged",
    );
    let blocked = list(&r, "blocked");
    let reason = blocked
        .first()
        .map(|b| text_at(b, &["reason"]))
        .unwrap_or_default();
    demo.show.expect(
        blocked.len() == 1
            && blocked
                .first()
                .is_some_and(|b| text_at(b, &["branch"]) == "feature/banner")
            && reason.starts_with(&format!("failed CI in candidate {}", second.id)),
        &format!(
            "feature/banner blocked (max_retries 0): failed CI in candidate {}",
            second.id
        ),
        r["blocked"].to_string(),
    );
    demo.show.expect(
        list(&r, "built").is_empty(),
        "nothing rebuilt: no retry, nothing else ready",
        r["built"].to_string(),
    );
    let first_try = demo.world.server_ref(&try_ref(&first.id))?;
    let second_try = demo.world.server_ref(&try_ref(&second.id))?;
    demo.show.expect(
        first_try.is_none() && second_try.is_none(),
        "both try branches are deleted",
        format!("{first_try:?} {second_try:?}"),
    );
    let status = state(demo)?;
    demo.show.expect(
        text_at(&status, &["main", "sha"]) == first.sha
            && text_at(&status, &["main", "release", "state"]) == "awaiting-deploy",
        "main's release is awaiting-deploy at once: its CI result is on that very sha",
        super::state_line(&status),
    );
    let notes = ci_notes(demo, &first.sha)?;
    demo.show.expect(
        notes.lines().filter(|l| !l.trim().is_empty()).count() == 1,
        "and there was no second CI run: one CI result on main, the candidate's",
        notes.clone(),
    );
    let entry = list(&status, "queue")
        .into_iter()
        .find(|e| text_at(e, &["branch"]) == "feature/banner")
        .cloned()
        .unwrap_or_default();
    demo.show.expect(
        text_at(&entry, &["state"]) == "blocked" && list(&status, "candidates").is_empty(),
        "status: feature/banner blocked, the train empty",
        super::state_line(&status),
    );
    Ok(())
}

/// The CI note on `sha` on the server ("" when none).
fn ci_notes(demo: &Demo, sha: &str) -> Result<String> {
    let ran = demo.world.git(&[
        "--git-dir",
        SERVER,
        "notes",
        "--ref",
        crate::git::names::NOTES_CI,
        "show",
        sha,
    ])?;
    Ok(if ran.ok() {
        ran.out().to_string()
    } else {
        String::new()
    })
}

fn never_red(demo: &mut Demo, before: &str, mains: &[&str], failed: &[&Built]) -> Result<()> {
    demo.show.step("Main was never red");
    let w = &demo.world;
    let range = format!("{before}..refs/heads/main");
    let ran = w.git(&[
        "--git-dir",
        SERVER,
        "log",
        "--first-parent",
        "--format=%h %s",
        &range,
    ])?;
    demo.show.ran(&ran, 6);
    let mut red = Vec::new();
    for sha in mains {
        if ci_notes(demo, sha)?.contains("\"failure\"") {
            red.push(short(sha).to_string());
        }
    }
    demo.show.expect(
        red.is_empty(),
        "every commit main pointed to in this act has only green CI",
        format!("red: {red:?}"),
    );
    let mut inside = Vec::new();
    for c in failed {
        let ran = demo.world.git(&[
            "--git-dir",
            SERVER,
            "merge-base",
            "--is-ancestor",
            &c.sha,
            "refs/heads/main",
        ])?;
        if ran.ok() {
            inside.push(c.id.clone());
        }
    }
    demo.show.expect(
        inside.is_empty(),
        "neither failed candidate is in main's history",
        format!("in main: {inside:?}"),
    );
    let status = state(demo)?;
    demo.show.expect_eq(
        &text_at(&status, &["control", "state"]),
        "running",
        "the pipeline never paused: the failures were the candidates', not main's",
    );
    Ok(())
}
