//! One bad branch never stalls the queue (issue 12, item 7): an entry whose
//! merged policy would not parse is blocked while planning, and an entry the
//! server refuses on its own is blocked with the server's reason; the rest of
//! the queue drains. Real server, real hooks.

mod common;
use common::{FAST_POLICY, World};

#[test]
fn a_branch_with_a_broken_policy_is_blocked_and_the_queue_drains() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let bad_policy = format!("{FAST_POLICY}colour = \"blue\"\n");
    let bad = dev.push_branch("feature/bad", ".deploybot.toml", &bad_policy);
    dev.report_ci(&bad, "success");
    dev.ok(&["request", "feature/bad"]);
    dev.push_green_request("feature/good", "good.txt");
    let r = coord.react();
    assert_eq!(r["state"], "complete", "{r}");
    let reason = r["blocked"][0]["reason"].as_str().expect("blocked");
    assert!(
        reason.contains("unknown key `pipeline.colour`") && reason.contains(".deploybot.toml"),
        "names the key and the file: {reason}"
    );
    assert_eq!(
        r["merged"][0]["branch"], "feature/good",
        "the rest drains: {r}"
    );
    let s = dev.status();
    assert_eq!(s["queue"][0]["state"], "blocked", "{s}");
    // The next pass does not fail either.
    assert_eq!(coord.react()["state"], "complete");
}

#[test]
fn an_entry_the_server_refuses_is_blocked_with_the_servers_reason() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    // A site rule in front of deploybot's hook: no `forbidden.txt` on main.
    let hooks = w.server.join("hooks");
    std::fs::rename(
        hooks.join("pre-receive"),
        hooks.join("deploybot-pre-receive"),
    )
    .expect("mv");
    w.install_server_hook(
        "pre-receive",
        "#!/bin/sh\ninput=$(cat)\necho \"$input\" | while read old new ref; do\n  if [ \"$ref\" = refs/heads/main ] && git cat-file -e \"$new:forbidden.txt\" 2>/dev/null; then\n    echo \"deploybot: refs/heads/main: contains forbidden.txt; remove it\" >&2; exit 1\n  fi\ndone || exit 1\necho \"$input\" | exec \"$(dirname \"$0\")/deploybot-pre-receive\"\n",
    );
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    dev.push_green_request("feature/bad", "forbidden.txt");
    dev.push_green_request("feature/good", "good.txt");
    let r = coord.react();
    let reason = r["blocked"][0]["reason"].as_str().expect("blocked");
    assert!(reason.contains("contains forbidden.txt"), "{r}");
    assert_eq!(r["blocked"][0]["branch"], "feature/bad");
    assert_eq!(
        r["merged"][0]["branch"], "feature/good",
        "the rest drains: {r}"
    );
    let main = w.server_ref("refs/heads/main").expect("main");
    let tree = w.server_git(&["ls-tree", "--name-only", &main]);
    assert!(!tree.contains("forbidden.txt"), "{tree}");
}

/// A refusal of every entry (a frozen server) blocks nobody.
#[test]
fn a_server_refusing_every_merge_blocks_nobody() {
    let w = World::with_policy(FAST_POLICY);
    w.install_server_hook(
        "pre-receive",
        "#!/bin/sh
while read old new ref; do [ \"$ref\" = refs/heads/main ] && { echo 'deploybot: refs/heads/main: frozen; try later' >&2; exit 1; }; done; exit 0\n",
    );
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let out = coord.run(&["react", "--json"]);
    assert_eq!(out.status.code(), Some(4), "the refusal is reported");
    let s = dev.status();
    let states: Vec<&str> = s["queue"]
        .as_array()
        .expect("queue")
        .iter()
        .map(|e| e["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["queued", "queued"], "nobody blocked: {s}");
}

/// Issue 12, item 10: a blocked entry is announced once, not every pass.
#[test]
fn a_blocked_entry_is_not_re_announced_every_pass() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    dev.push_green_request("feature/a", "a.txt");
    dev.ok(&["block", "feature/a", "--reason", "not yet"]);
    let text = coord.ok(&["react"]);
    assert!(!text.contains("feature/a"), "{text}");
    assert!(dev.ok(&["status"]).contains("blocked feature/a"));
}
