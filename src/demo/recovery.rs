//! Act two: the operator's unpause wakes the reactor and the repair lands past
//! the failed sha; an older worker's stale re-pause changes nothing; the new
//! main is reported green, deployed and followed to verified.

use super::roles::{COORDINATOR, OLD_WORKER, OPERATOR};
use super::story::{Facts, report};
use super::world::SERVER;
use super::{Demo, short, text_at};
use anyhow::{Result, bail};

/// Plays act two.
pub fn play(demo: &mut Demo, facts: Facts) -> Result<()> {
    let new_main = unpause_lands_the_repair(demo, &facts)?;
    stale_repause(demo, &facts)?;
    follow_to_verified(demo, &new_main)?;
    doctor(demo)?;
    Ok(())
}

fn unpause_lands_the_repair(demo: &mut Demo, facts: &Facts) -> Result<String> {
    demo.show
        .step("The operator unpauses; the wake-up lands the repair past the failed sha");
    let status = demo.state()?;
    let id = text_at(&status, &["control", "control_id"]);
    let sha = text_at(&status, &["control", "main_sha"]);
    let args = [
        "unpause",
        "--sha",
        sha.as_str(),
        "--control-id",
        id.as_str(),
    ];
    let ran = demo.world.deploybot(OPERATOR, &args)?;
    demo.show.ran(&ran, 6);
    demo.show.expect(
        ran.ok()
            && ran
                .stdout
                .contains(&format!("merged {}", facts.repair_branch)),
        "unpause recorded the recovery and its wake-up merged the repair",
        format!("{} {}", ran.out(), ran.first_error()),
    );
    let main = demo
        .world
        .server_ref("refs/heads/main")?
        .unwrap_or_default();
    let w = &demo.world;
    let first_parent = w.git_ok(&["--git-dir", SERVER, "rev-parse", &format!("{main}^1")]);
    let second_parent = w.git_ok(&["--git-dir", SERVER, "rev-parse", &format!("{main}^2")]);
    demo.show.expect(
        first_parent.as_deref().ok() == Some(facts.failed.as_str())
            && second_parent.as_deref().ok() == Some(facts.fix.as_str()),
        &format!(
            "main {} merges the fix {} on top of the failed {}",
            short(&main),
            short(&facts.fix),
            short(&facts.failed)
        ),
        format!("{first_parent:?} {second_parent:?}"),
    );
    let status = demo.state()?;
    demo.show.expect(
        text_at(&status, &["control", "state"]) == "running"
            && text_at(&status, &["control", "recovered_main_sha"]) == facts.failed,
        "running, with the recovery of the failed sha on record",
        super::state_line(&status),
    );
    demo.show.expect(
        text_at(&status, &["control", "recovered_state"]) == "ci-failed",
        "it owns exactly the failure it resumed (recovered_state ci-failed): another failure of that sha would still pause",
        text_at(&status, &["control", "recovered_state"]),
    );
    Ok(main)
}

/// The pause commit on the server's control ledger and the current tip, as the old worker fetched them.
fn fetch_ledger(demo: &mut Demo) -> Result<(String, String)> {
    let w = &demo.world;
    w.git_in_ok(
        OLD_WORKER,
        &["fetch", "-q", "origin", "refs/deploybot/control"],
    )?;
    let tip = w.git_in_ok(OLD_WORKER, &["rev-parse", "FETCH_HEAD"])?;
    let log = w.git_in_ok(OLD_WORKER, &["log", "--format=%H %s", "FETCH_HEAD"])?;
    let Some(pause) = log
        .lines()
        .rfind(|l| l.contains(" pause: ci-failed on "))
        .and_then(|l| l.split(' ').next())
    else {
        bail!("no `pause: ci-failed` commit in the control ledger:\n{log}");
    };
    Ok((pause.to_string(), tip))
}

fn stale_repause(demo: &mut Demo, facts: &Facts) -> Result<()> {
    demo.show
        .step("An older worker replays the pause, byte for byte, with plain git");
    demo.show.note(
        "     It read the CI failure before the repair landed; the failure is still on that sha.",
    );
    let (pause, tip) = fetch_ledger(demo)?;
    let w = &demo.world;
    let tree = w.git_in_ok(OLD_WORKER, &["rev-parse", &format!("{pause}^{{tree}}")])?;
    let message = w.git_in_ok(OLD_WORKER, &["log", "-1", "--format=%B", &pause])?;
    let args = [
        "commit-tree",
        tree.as_str(),
        "-p",
        tip.as_str(),
        "-m",
        &message,
    ];
    let ran = w.git_in(OLD_WORKER, &args)?;
    demo.show.ran(&ran, 1);
    let replay = ran.out().to_string();
    let refspec = format!("{replay}:refs/deploybot/control");
    let ran = w.git_in(OLD_WORKER, &["push", "-q", "origin", &refspec])?;
    demo.show.ran(&ran, 0);
    for line in ran.stderr.lines().filter(|l| l.contains("deploybot:")) {
        demo.show.line(&format!("     {}", line.trim()));
    }
    let server_tip = w.server_ref("refs/deploybot/control")?.unwrap_or_default();
    demo.show.expect(
        !ran.ok()
            && ran.stderr.contains("pre-receive hook declined")
            && ran.stderr.contains("state.json disagrees")
            && server_tip == tip,
        "the hook refuses the replayed tree: its state.json snapshot is bound to another parent",
        ran.first_error().to_string(),
    );

    demo.show
        .step("The same record.json, as an older release writes it (no snapshot)");
    let w = &demo.world;
    let blob = w.git_in_ok(OLD_WORKER, &["rev-parse", &format!("{pause}:record.json")])?;
    let listing = format!("100644 blob {blob}\trecord.json\n");
    let tree = w.git_stdin(OLD_WORKER, &["mktree"], &listing)?;
    demo.show.line(&format!(
        "   $ git -C {OLD_WORKER} mktree   # record.json = blob {} of the original pause",
        short(&blob)
    ));
    let args = [
        "commit-tree",
        tree.as_str(),
        "-p",
        tip.as_str(),
        "-m",
        &message,
    ];
    let ran = w.git_in(OLD_WORKER, &args)?;
    demo.show.ran(&ran, 1);
    let refspec = format!("{}:refs/deploybot/control", ran.out());
    let ran = w.git_in(OLD_WORKER, &["push", "-q", "origin", &refspec])?;
    demo.show.ran(&ran, 1);
    demo.show.expect(
        !ran.ok() && ran.stderr.contains("is already used"),
        "the hook refuses it: that control_id is already in the ledger (ids are unique)",
        ran.first_error().to_string(),
    );

    demo.show
        .step("The older worker writes the same pause as a new record (a fresh control_id)");
    let w = &demo.world;
    let record = w.git_in_ok(OLD_WORKER, &["cat-file", "blob", &blob])?;
    let mut fresh: serde_json::Value = serde_json::from_str(&record)?;
    fresh["control_id"] = serde_json::Value::String(format!("old-worker-{}", short(&tip)));
    let blob = w.git_stdin(
        OLD_WORKER,
        &["hash-object", "-w", "--stdin"],
        &fresh.to_string(),
    )?;
    let listing = format!("100644 blob {blob}\trecord.json\n");
    let tree = w.git_stdin(OLD_WORKER, &["mktree"], &listing)?;
    demo.show.line(&format!(
        "   $ git -C {OLD_WORKER} mktree   # record.json: the same pause, control_id {}",
        fresh["control_id"]
    ));
    let args = [
        "commit-tree",
        tree.as_str(),
        "-p",
        tip.as_str(),
        "-m",
        &message,
    ];
    let ran = w.git_in(OLD_WORKER, &args)?;
    demo.show.ran(&ran, 1);
    let refspec = format!("{}:refs/deploybot/control", ran.out());
    let ran = w.git_in(OLD_WORKER, &["push", "-q", "origin", &refspec])?;
    demo.show.ran(&ran, 2);
    demo.show.expect(
        ran.ok(),
        "the hook accepts it: a well-formed record from a trusted writer",
        ran.first_error().to_string(),
    );
    let status = demo.state()?;
    demo.show.expect(
        text_at(&status, &["control", "state"]) == "running",
        "the fold ignores it: it restates the failure the recovery resumed",
        super::state_line(&status),
    );

    demo.show
        .step("Even written straight into the server, past every hook, it changes nothing");
    let w = &demo.world;
    let tip = w.server_ref("refs/deploybot/control")?.unwrap_or_default();
    let tree = w.git_ok(&[
        "--git-dir",
        SERVER,
        "rev-parse",
        &format!("{pause}^{{tree}}"),
    ])?;
    let args = [
        "-c",
        "user.name=server-admin",
        "-c",
        "user.email=admin@demo.invalid",
        "--git-dir",
        SERVER,
        "commit-tree",
        tree.as_str(),
        "-p",
        tip.as_str(),
        "-m",
        &message,
    ];
    let ran = w.git(&args)?;
    demo.show.ran(&ran, 1);
    if !ran.ok() {
        bail!("`{}` failed: {}", ran.shown, ran.first_error());
    }
    let forced = ran.out().to_string();
    let args = [
        "--git-dir",
        SERVER,
        "update-ref",
        "refs/deploybot/control",
        forced.as_str(),
        tip.as_str(),
    ];
    let ran = w.git(&args)?;
    demo.show.ran(&ran, 2);
    let status = demo.state()?;
    demo.show.expect(
        ran.ok()
            && text_at(&status, &["control", "state"]) == "running"
            && text_at(&status, &["control", "recovered_main_sha"]) == facts.failed,
        "still running: the recovery is durable against stale pauses",
        super::state_line(&status),
    );
    Ok(())
}

fn follow_to_verified(demo: &mut Demo, new_main: &str) -> Result<()> {
    demo.show
        .step("The runner reports the new main green and deployed");
    report(demo, "ci", new_main, "CI", "success")?;
    report(demo, "deploy", new_main, "Deploy", "success")?;

    demo.show.step("The new main is followed to verified");
    let args = ["follow", "--timeout", "30", "--json"];
    let ran = demo.world.deploybot(COORDINATOR, &args)?;
    demo.show.ran(&ran, 0);
    let f = ran.json();
    let state = text_at(&f, &["release", "state"]);
    demo.show.line(&format!(
        "     {} {} {state}",
        text_at(&f, &["outcome"]),
        short(&text_at(&f, &["sha"]))
    ));
    demo.show.expect(
        ran.ok() && state == "verified",
        "follow exits 0 with the release verified",
        format!("{} {}", ran.out(), ran.first_error()),
    );
    let verified = demo.world.server_ref("refs/deploybot/verified")?;
    demo.show.expect(
        verified.as_deref() == Some(new_main),
        "refs/deploybot/verified moved to the new main",
        format!("{verified:?}"),
    );
    let status = demo.state()?;
    demo.show.expect(
        text_at(&status, &["main", "sha"]) == new_main
            && text_at(&status, &["main", "release", "state"]) == "verified",
        "main is the repaired commit and its release is verified",
        super::state_line(&status),
    );
    Ok(())
}

fn doctor(demo: &mut Demo) -> Result<()> {
    demo.show
        .step("doctor: policy, hook, refspecs and a full re-fold of both ledgers");
    let ran = demo.world.deploybot(COORDINATOR, &["init"])?;
    demo.show.ran(&ran, 4);
    demo.show.expect(
        ran.ok() && ran.stdout.contains("kept"),
        "init keeps main's .deploybot.toml and adds only the git config",
        ran.first_error().to_string(),
    );
    let ran = demo.world.deploybot(COORDINATOR, &["doctor"])?;
    demo.show.ran(&ran, 20);
    demo.show.expect(
        ran.ok(),
        "no check fails (the replayed records are well formed, just ignored)",
        ran.first_error().to_string(),
    );
    Ok(())
}
