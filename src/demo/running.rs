//! The third act: running it for real. The server gets the post-receive
//! hook that wakes local processes (`hook install --wake`); a long-running
//! coordinator (`coordinate`) and a runner agent (`runner --check CI -- sh
//! ci.sh`) start in the background; the developer only pushes a branch and
//! requests it. Nobody reports or reacts by hand: the runner tests the
//! requested head and its candidate, the coordinator builds and lands it,
//! and both stop cleanly on SIGTERM.

use super::roles::{COORDINATOR, DEV, RUNNER};
use super::world::SERVER;
use super::{Demo, short};
use anyhow::{Result, bail};
use std::io::Read;
use std::process::Child;
use std::time::{Duration, Instant};

/// A new program for bin/: it calls the library as main has it.
const SHOUT: &str = ". ./lib.sh\necho \"$(greet team)!\"\n";

/// Plays the third act.
pub fn play(demo: &mut Demo) -> Result<()> {
    demo.show.line("");
    demo.show.line(
        "Third act: running it for real (a coordinator and a runner in the background; nobody reacts by hand)",
    );
    wake_hook(demo)?;
    let before = main_of(demo)?;
    let worktrees_before = worktrees(demo)?;
    let coordinator = start(demo, COORDINATOR, &["coordinate", "--poll", "5"])?;
    let runner = start(
        demo,
        RUNNER,
        &[
            "runner", "--check", "CI", "--jobs", "2", "--", "sh", "ci.sh",
        ],
    )?;
    let head = push_and_request(demo)?;
    let landed = wait_for_landing(demo, &before, &head);
    let coordinator_out = stop(demo, coordinator, "the coordinator")?;
    let runner_out = stop(demo, runner, "the runner")?;
    show_lines(demo, "coordinate", &coordinator_out);
    show_lines(demo, "runner", &runner_out);
    let landed = landed?;
    let status = demo.state()?;
    demo.show.expect_eq(
        &super::text_at(&status, &["main", "sha"]),
        &landed,
        "status shows the landed main",
    );
    let left = worktrees(demo)?.saturating_sub(worktrees_before);
    demo.show.expect(
        left == 0,
        "the runner left no worktree behind",
        format!("{left} worktrees left"),
    );
    Ok(())
}

/// The runner clone's worktrees (the act before left its own).
fn worktrees(demo: &Demo) -> Result<usize> {
    let listed = demo
        .world
        .git_in_ok(RUNNER, &["worktree", "list", "--porcelain"])?;
    Ok(listed
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count())
}

fn main_of(demo: &Demo) -> Result<String> {
    Ok(demo
        .world
        .server_ref("refs/heads/main")?
        .unwrap_or_default())
}

fn wake_hook(demo: &mut Demo) -> Result<()> {
    demo.show
        .step("The server wakes local processes after every push");
    let ran = demo
        .world
        .deploybot("", &["hook", "install", "--wake", SERVER])?;
    demo.show.ran(&ran, 4);
    demo.show.expect(
        ran.ok() && demo.world.server().join("hooks/post-receive").exists(),
        "hooks/post-receive installed",
        ran.first_error().to_string(),
    );
    Ok(())
}

fn start(demo: &mut Demo, clone: &str, args: &[&str]) -> Result<Child> {
    let (child, shown) = demo.world.spawn(clone, args)?;
    demo.show.line(&format!("  $ {shown} &"));
    Ok(child)
}

fn push_and_request(demo: &mut Demo) -> Result<String> {
    demo.show
        .step("The developer pushes feature/shout and requests it; that is all");
    let w = &demo.world;
    w.git_in_ok(DEV, &["fetch", "-q", "origin"])?;
    w.git_in_ok(
        DEV,
        &["checkout", "-q", "-B", "feature/shout", "origin/main"],
    )?;
    let head = w.commit_file(DEV, "bin/shout.sh", SHOUT, "shout: greet the team")?;
    let ran = w.git_in(DEV, &["push", "-q", "origin", "feature/shout"])?;
    demo.show.ran(&ran, 2);
    let ran = demo.world.deploybot(DEV, &["request", "feature/shout"])?;
    demo.show.ran(&ran, 2);
    demo.show
        .expect(ran.ok(), "feature/shout requested", ran.first_error());
    Ok(head)
}

/// Waits (bounded) until main moved to a commit holding `head` with CI green on it.
fn wait_for_landing(demo: &mut Demo, before: &str, head: &str) -> Result<String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let main = main_of(demo)?;
        let holds = main != before
            && demo
                .world
                .git_in(SERVER, &["merge-base", "--is-ancestor", head, &main])?
                .ok();
        let green = demo
            .world
            .git_in(SERVER, &["notes", "--ref=deploybot/ci", "show", &main])?
            .out()
            .contains("\"success\"");
        if holds && green {
            let seconds = started.elapsed().as_secs_f64();
            demo.show.expect(
                true,
                "main moved to a tested commit holding feature/shout, with no step by hand",
                "",
            );
            demo.show.note(&format!(
                "main {} → {} in {seconds:.1}s after the request",
                short(before),
                short(&main)
            ));
            return Ok(main);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    demo.show.expect(
        false,
        "main to move to a tested commit holding feature/shout",
        "it did not within 120s",
    );
    bail!("the request did not land")
}

/// SIGTERM, then waits (bounded); returns stdout. Expects exit 0.
fn stop(demo: &mut Demo, mut child: Child, who: &str) -> Result<String> {
    // Safety: kill only sends a signal to the child we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            bail!("{who} did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out)?;
    }
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut err)?;
    }
    demo.show.expect(
        status.success(),
        &format!("{who} stops on SIGTERM with exit 0"),
        format!("{status}: {}", err.lines().last().unwrap_or_default()),
    );
    Ok(out)
}

fn show_lines(demo: &mut Demo, what: &str, out: &str) {
    demo.show.note(&format!("{what} said:"));
    for line in out.lines().take(12) {
        demo.show.line(&format!("    {line}"));
    }
}
