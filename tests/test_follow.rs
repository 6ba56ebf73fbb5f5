//! Following releases: runners, deploys, HTTP verification, grace, superseded pauses, the watermark.

mod common;
use common::{Clone, World};
use std::io::{Read, Write};
use std::net::TcpListener;

const POLICY: &str = "[pipeline]\nci_failure_grace_seconds = 0\n";

/// Merges one green branch so main has a fresh sha with no results; returns it.
fn fresh_main(w: &World, dev: &Clone) -> String {
    let n = w.server_count("refs/heads/main");
    let name = format!("f{n}");
    let head = dev.push_branch(&name, "f.txt", &format!("{n}\n"));
    dev.report_ci(&head, "success");
    dev.ok(&["request", &name]);
    let r = dev.react();
    assert_eq!(r["merged"].as_array().expect("merged").len(), 1, "{r}");
    w.server_ref("refs/heads/main").expect("main")
}

fn follow_json(c: &Clone, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["follow", "--json", "--poll", "1"];
    args.extend_from_slice(extra);
    let out = c.run(&args);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("follow --json prints only JSON ({e}): {text}"));
    (out.status.code(), json)
}

#[test]
fn a_release_lives_through_real_runner_processes() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    let runner = w.clone_as("runner");
    let main = fresh_main(&w, &dev);
    let pending = runner.ok(&["ci", "pending", "--json"]);
    assert!(pending.contains(&main), "the new main needs CI: {pending}");
    let out = runner.ok(&[
        "ci",
        "run",
        "--check",
        "CI",
        "--",
        "sh",
        "-c",
        "test -f f.txt && echo ran in $DEPLOYBOT_SHA",
    ]);
    assert!(out.contains("CI passed"), "{out}");
    let pending = runner.ok(&["ci", "pending", "--json"]);
    assert!(
        !pending.contains(&main),
        "a commit with a result is never pending: {pending}"
    );
    assert_eq!(
        runner.status()["main"]["release"]["state"],
        "awaiting-deploy"
    );
    assert!(runner.ok(&["deploy", "pending"]).contains(&main[..12]));
    runner.ok(&["deploy", "run", "--check", "Deploy", "--", "true"]);
    let (code, report) = follow_json(&runner, &["--timeout", "20"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["outcome"], "reached");
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(main.as_str()),
        "the watermark advanced"
    );
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    assert!(
        note.contains("\"status\":\"pending\"") && note.contains("\"duration_seconds\""),
        "claimed then reported with a duration: {note}"
    );
    let (code, report) = follow_json(&runner, &["--if-needed"]);
    assert_eq!(
        (code, report["outcome"].as_str()),
        (Some(0), Some("nothing-to-follow"))
    );
}

#[test]
fn a_failing_runner_fails_the_release_and_pauses() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "false"]);
    assert_eq!(out.status.code(), Some(6), "a failed run exits 6");
    let (code, report) = follow_json(&dev, &["--timeout", "10"]);
    assert_eq!(code, Some(6), "{report}");
    assert_eq!(report["paused_with"], format!("ci-failed on {main}"));
    assert_eq!(dev.control("state"), "paused");
    assert_eq!(
        dev.ok(&["ci", "pending", "--json"]).trim(),
        "[]",
        "nothing pending once a result exists"
    );
}

#[test]
fn follow_times_out_with_its_own_exit_code() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    fresh_main(&w, &dev);
    let (code, report) = follow_json(&dev, &["--timeout", "2"]);
    assert_eq!(code, Some(7), "{report}");
    assert_eq!(report["outcome"], "timed-out");
    assert_eq!(report["release"]["state"], "testing");
}

#[test]
fn deploy_command_success_failure_and_superseded() {
    let policy = format!(
        "{POLICY}deploy_command = \"echo \\\"$DEPLOYBOT_PREVIOUS_SHA -> $DEPLOYBOT_SHA\\\" >> deploys.log; test ! -e fail-deploy\"\n"
    );
    let w = World::with_policy(&policy);
    let dev = w.clone_as("dev");
    let first = fresh_main(&w, &dev);
    dev.report_ci(&first, "success");
    let (code, report) = follow_json(&dev, &["--timeout", "20"]);
    assert_eq!(code, Some(0), "{report}");
    let log =
        std::fs::read_to_string(dev.path.join("deploys.log")).expect("the deploy command ran");
    assert!(log.contains(&format!("-> {first}")), "{log}");
    // Failure.
    let second = fresh_main(&w, &dev);
    dev.report_ci(&second, "success");
    std::fs::write(dev.path.join("fail-deploy"), "").expect("marker");
    let (code, report) = follow_json(&dev, &["--timeout", "20"]);
    assert_eq!(code, Some(6), "{report}");
    assert_eq!(report["paused_with"], format!("deploy-failed on {second}"));
    let log = std::fs::read_to_string(dev.path.join("deploys.log")).expect("log");
    assert!(
        log.contains(&format!("{first} -> {second}")),
        "the previous verified sha is passed: {log}"
    );
    // Superseded: a deploy asked for a sha that is no longer the tip is skipped.
    let out = dev.ok(&[
        "deploy", "run", "--check", "Deploy", "--sha", &first, "--", "true",
    ]);
    assert!(out.contains("superseded"), "{out}");
    let note = w.server_git(&["notes", "--ref=deploybot/deploy", "show", &first]);
    assert!(
        note.lines()
            .last()
            .expect("a line")
            .contains("\"status\":\"skipped\""),
        "{note}"
    );
}

/// Serves `status` to every request after `delay_ms`, on a free 127.0.0.1 port.
fn http_server(status: u16, delay_ms: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                let body = "ok";
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    format!("http://{addr}/healthz")
}

fn verified_world(url: &str, timeout: u64) -> (World, Clone, String) {
    let policy = format!(
        "{POLICY}\n[[pipeline.verifications]]\nname = \"health\"\nurl = \"{url}\"\nexpected_status = 200\ntimeout_seconds = {timeout}\n"
    );
    let w = World::with_policy(&policy);
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    dev.report_ci(&main, "success");
    dev.ok(&[
        "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "success",
    ]);
    (w, dev, main)
}

#[test]
fn http_verification_passing() {
    let (w, dev, main) = verified_world(&http_server(200, 0), 5);
    let (code, report) = follow_json(&dev, &["--timeout", "20"]);
    assert_eq!(code, Some(0), "{report}");
    let note = w.server_git(&["notes", "--ref=deploybot/deploy", "show", &main]);
    assert!(
        note.contains("\"check\":\"health\"") && note.contains("\"status\":\"success\""),
        "{note}"
    );
}

#[test]
fn http_verification_failing_is_verify_failed() {
    let (_w, dev, main) = verified_world(&http_server(503, 0), 5);
    let (code, report) = follow_json(&dev, &["--timeout", "3"]);
    assert_eq!(code, Some(6), "{report}");
    assert_eq!(report["paused_with"], format!("verify-failed on {main}"));
}

#[test]
fn http_verification_slower_than_its_timeout_fails() {
    let (_w, dev, main) = verified_world(&http_server(200, 3000), 1);
    let (code, report) = follow_json(&dev, &["--timeout", "3"]);
    assert_eq!(code, Some(6), "{report}");
    assert_eq!(report["paused_with"], format!("verify-failed on {main}"));
}

#[test]
fn grace_absorbs_a_retry_and_a_lasting_failure_still_fails() {
    let w = World::with_policy("[pipeline]\nci_failure_grace_seconds = 3\n");
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    dev.report_ci(&main, "failure");
    assert_eq!(
        dev.status()["main"]["release"]["state"],
        "testing",
        "within grace"
    );
    dev.report_ci(&main, "success");
    assert_eq!(
        dev.status()["main"]["release"]["state"],
        "awaiting-deploy",
        "the retry absorbed the failure"
    );
    let next = fresh_main(&w, &dev);
    dev.report_ci(&next, "failure");
    let (code, report) = follow_json(&dev, &["--timeout", "15"]);
    assert_eq!(
        code,
        Some(6),
        "once the grace passes the failure stands: {report}"
    );
}

#[test]
fn a_superseded_controller_pause_clears_itself_but_an_operator_pause_does_not() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    let failed = fresh_main(&w, &dev);
    dev.report_ci(&failed, "failure");
    assert_eq!(dev.react()["paused_with"], format!("ci-failed on {failed}"));
    // Main moves on past the failure (pushed directly: this server has no hook) and is verified.
    let fixed = dev.push_branch("direct", "direct.txt", "d\n");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
    w.server_git(&["update-ref", "refs/deploybot/verified", &fixed]);
    let r = dev.react();
    assert_eq!(
        r["superseded"],
        format!("newer verified main {fixed} supersedes paused {failed}"),
        "{r}"
    );
    assert_eq!(dev.control("state"), "running");
    // An operator pause never clears itself.
    dev.ok(&["pause", "--reason", "maintenance window"]);
    let next = dev.push_branch("direct2", "direct2.txt", "e\n");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
    w.server_git(&["update-ref", "refs/deploybot/verified", &next]);
    assert_eq!(dev.react()["state"], "paused");
    assert_eq!(dev.control("reason"), "maintenance window");
}

#[test]
fn the_watermark_never_moves_backwards() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    let old = fresh_main(&w, &dev);
    let new = fresh_main(&w, &dev);
    w.server_git(&["update-ref", "refs/deploybot/verified", &new]);
    // main is rewound to the older commit, which is verified by its notes.
    w.server_git(&["update-ref", "refs/heads/main", &old]);
    dev.report_ci(&old, "success");
    dev.ok(&[
        "deploy", "report", "--sha", &old, "--check", "Deploy", "--status", "success",
    ]);
    let (code, _) = follow_json(&dev, &["--timeout", "5"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(new.as_str()),
        "not moved backwards"
    );
    // Forward along main it moves: main returns past `new` and that commit is verified.
    dev.git(&[
        "push",
        "-q",
        "-f",
        "origin",
        &format!("{new}:refs/heads/main"),
    ]);
    let newest = fresh_main(&w, &dev);
    dev.report_ci(&newest, "success");
    dev.ok(&[
        "deploy", "report", "--sha", &newest, "--check", "Deploy", "--status", "success",
    ]);
    let (code, _) = follow_json(&dev, &["--timeout", "5"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(newest.as_str()),
        "forward along main"
    );
}

#[test]
fn a_dead_runners_claim_is_taken_over_after_reclaim_after() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    // A runner claimed the commit two hours ago and died (written with plain git).
    let claim = r#"{"check":"CI","status":"pending","at":"2020-01-01T00:00:00Z","run_id":"dead","runner":"gone"}"#;
    dev.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/ci:refs/notes/deploybot/ci",
    ]);
    dev.git(&["notes", "--ref=deploybot/ci", "append", "-m", claim, &main]);
    dev.git(&["push", "-q", "origin", "refs/notes/deploybot/ci"]);
    assert!(
        dev.ok(&["ci", "pending"]).contains(&main[..12]),
        "an old claim is stale by default (1 hour)"
    );
    let held = dev.ok(&["ci", "pending", "--reclaim-after", "999999999"]);
    assert!(
        !held.contains(&main[..12]),
        "a claim younger than --reclaim-after holds: {held}"
    );
    let out = dev.ok(&["ci", "run", "--check", "CI", "--", "true"]);
    assert!(
        out.contains(&main[..12]),
        "the commit was taken over: {out}"
    );
    // A fresh claim by a live runner holds.
    let next = fresh_main(&w, &dev);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let at = deploybot::core::time::format_rfc3339(now);
    let live = format!(
        r#"{{"check":"CI","status":"pending","at":"{at}","run_id":"live","runner":"busy"}}"#
    );
    dev.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/ci:refs/notes/deploybot/ci",
    ]);
    dev.git(&["notes", "--ref=deploybot/ci", "append", "-m", &live, &next]);
    dev.git(&["push", "-q", "origin", "refs/notes/deploybot/ci"]);
    assert!(!dev.ok(&["ci", "pending"]).contains(&next[..12]));
}

#[test]
fn follow_rides_out_a_remote_that_is_briefly_unreachable() {
    let w = World::with_policy(POLICY);
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    let follower = dev
        .std_command(&["follow", "--poll", "1", "--timeout", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn follow");
    let away = w.dir.path().join("server.git.away");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::rename(&w.server, &away).expect("take the server away");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    std::fs::rename(&away, &w.server).expect("bring it back");
    let runner = w.clone_as("runner");
    runner.report_ci(&main, "success");
    runner.ok(&[
        "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "success",
    ]);
    let out = follower.wait_with_output().expect("follow ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "follow reached verified: {stderr}");
    assert!(
        stderr.contains("fetch failed (1 in a row), retrying"),
        "the blip was reported: {stderr}"
    );
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(main.as_str())
    );
}
