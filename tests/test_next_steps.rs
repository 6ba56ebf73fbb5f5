//! `status` leads a person through a recovery in the order that works
//! (issue 12, item 8): claim the repair, make it green, request it, then
//! unpause; it tells the watermark from main's release, and says `follow`
//! when the watermark lags. The hook's paused refusal names claim-repair.

mod common;
use common::{FAST_POLICY, World};

fn next(s: &serde_json::Value) -> Vec<String> {
    s["next"]
        .as_array()
        .expect("next")
        .iter()
        .map(|n| n.as_str().expect("text").to_string())
        .collect()
}

#[test]
fn a_paused_red_main_leads_with_the_repair_then_unpause() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let failed = dev.push_green_request("feature/a", "a.txt");
    let _ = failed;
    coord.react();
    let main = w.server_ref("refs/heads/main").expect("main");
    dev.report_ci(&main, "failure");
    coord.react();
    let steps = next(&dev.status());
    assert!(
        steps[0].starts_with("git deploybot claim-repair"),
        "{steps:?}"
    );
    assert!(steps[1].starts_with("git deploybot unpause"), "{steps:?}");
    dev.ok(&["claim-repair", "--owner", "dev"]);
    let steps = next(&dev.status());
    assert!(
        steps[0].starts_with("git deploybot request deploybot/repair/"),
        "{steps:?}"
    );
    // Requested before its CI is green: status says what it waits for.
    let branch = format!("deploybot/repair/{}", &main[..12]);
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", &branch, &format!("origin/{branch}")]);
    dev.commit_file("fix.txt", "fixed\n", "fix");
    dev.git(&["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
    dev.ok(&["request", &branch]);
    let steps = next(&dev.status());
    assert!(
        steps[0].contains("waits") && steps[0].contains("CI"),
        "{steps:?}"
    );
    assert!(
        steps
            .last()
            .expect("unpause")
            .starts_with("git deploybot unpause")
    );
}

#[test]
fn the_watermark_is_not_main_and_a_lagging_one_says_follow() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    coord.react(); // first install: the watermark names the initial main
    dev.push_green_request("feature/a", "a.txt");
    coord.react();
    let main = w.server_ref("refs/heads/main").expect("main");
    dev.report_ci(&main, "success");
    dev.ok(&[
        "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "success",
    ]);
    let text = dev.ok(&["status"]);
    assert!(
        text.contains("watermark  ") && text.contains("an older main"),
        "{text}"
    );
    let steps = next(&dev.status());
    assert!(
        steps.iter().any(|s| s.starts_with("git deploybot follow")),
        "{steps:?}"
    );
}

#[test]
fn the_hooks_paused_refusal_names_claim_repair() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    dev.ok(&["pause", "--reason", "hold"]);
    dev.git(&["pull", "-q", "origin", "main"]);
    dev.commit_file("x.txt", "x\n", "direct");
    w.assert_refused(&dev, &["push", "origin", "main"], &[], "claim-repair");
}
