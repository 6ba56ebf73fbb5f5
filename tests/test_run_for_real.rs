//! Running it for real: `coordinate` woken by a post-receive hook or polling,
//! a SIGTERM in the middle of a pass, two coordinators on one clone, and
//! `runner` agents racing, draining and taking over a dead runner's claim.
//! Every process is the real binary against a bare server with the hook.

mod common;
use common::{Clone, FAST_POLICY, World, signal, worktrees};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A long-running process whose stdout lines arrive on a channel.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(clone: &Clone, args: &[&str]) -> Daemon {
        let mut cmd = clone.std_command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Daemon {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) for a JSON line matching `wanted`; returns it.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(line.clone());
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("a JSON line ({e}): {line}"));
                if wanted(&value) {
                    return value;
                }
            }
        }
        panic!("never saw {what}; lines: {:#?}", self.seen);
    }

    /// Lines that arrived so far.
    fn drain(&mut self) -> Vec<Value> {
        let mut got = Vec::new();
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line.clone());
            got.push(serde_json::from_str(&line).expect("JSON line"));
        }
        got
    }

    /// SIGTERM; asserts exit 0 and returns stderr.
    fn stop(mut self) -> (String, Vec<String>) {
        signal(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr");
        assert!(status.success(), "exit {status:?} after SIGTERM: {stderr}");
        self.seen.extend(self.lines.try_iter());
        (stderr, self.seen)
    }
}

/// Waits (bounded) until `check` holds. Generous: the two-coordinator story
/// takes about 33 s on 2 idle cores, and CI machines are not idle.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(150);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("never: {what}");
}

fn merged_pass(v: &Value) -> bool {
    v["react"]["merged"]
        .as_array()
        .is_some_and(|m| !m.is_empty())
}

#[test]
fn a_coordinator_woken_by_the_post_receive_hook_merges_before_its_next_poll() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks_with(&["--wake"]);
    assert!(w.server.join("hooks/post-receive").exists());
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let before = w.server_ref("refs/heads/main").unwrap();
    // A poll of an hour: only the wake can start a pass in time.
    let mut daemon = Daemon::start(&coord, &["coordinate", "--poll", "3600", "--json"]);
    let start = daemon.wait_for("the first pass", |v| v["trigger"] == "start");
    // The clone's mirror is current: the first pass lists and fetches nothing.
    assert_eq!(start["fetched"], false, "{start}");
    let asked = Instant::now();
    let head = dev.push_green_request("feature/a", "a.txt");
    let merged = daemon.wait_for("a woken pass that merges", merged_pass);
    assert_eq!(merged["trigger"], "woken", "{merged}");
    assert_eq!(merged["fetched"], true, "the remote moved: {merged}");
    assert!(asked.elapsed() < Duration::from_secs(60));
    assert_eq!(merged["react"]["merged"][0]["head_sha"], head.as_str());
    let main = w.server_ref("refs/heads/main").unwrap();
    assert_ne!(main, before);
    assert_eq!(merged["react"]["new_base_sha"], main.as_str());
    let (stderr, _) = daemon.stop();
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
}

#[test]
fn a_polling_coordinator_fetches_only_when_the_remote_changed() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let mut daemon = Daemon::start(&coord, &["coordinate", "--poll", "1", "--json"]);
    daemon.wait_for("the first pass", |v| v["trigger"] == "start");
    let head = dev.push_green_request("feature/b", "b.txt");
    let merged = daemon.wait_for("a pass that merges", merged_pass);
    assert_eq!(merged["trigger"], "changed", "{merged}");
    assert_eq!(merged["react"]["merged"][0]["head_sha"], head.as_str());
    // Idle: its own pushes are no news, and nothing else moved. Five polls
    // later, no pass has run (a sweep comes only after 30 s, without a fetch).
    daemon.drain();
    let stamp = coord.path.join(".git/deploybot-sync/origin.fetched");
    let fetched = std::fs::metadata(&stamp).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let idle = daemon.drain();
    assert!(idle.is_empty(), "passes while idle: {idle:?}");
    let after = std::fs::metadata(&stamp).unwrap().modified().unwrap();
    assert_eq!(fetched, after, "an idle coordinator fetched");
    // A text-mode coordinator says one line per pass.
    let (stderr, _) = daemon.stop();
    assert!(
        stderr.contains("listing the remote's refs every 1s"),
        "{stderr}"
    );
}

#[test]
fn sigterm_in_the_middle_of_a_pass_finishes_it_and_exits_zero() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let marks = w.dir.path().join("dispatch");
    // The pass's last step (the CI dispatch after the merge) takes a while.
    let dispatch = format!(
        "sh -c 'touch {m}.started; sleep 2; touch {m}.done'",
        m = marks.display()
    );
    let policy = format!("{FAST_POLICY}ci_dispatch_command = \"{dispatch}\"\n");
    let config = w.dir.path().join("policy.toml");
    std::fs::write(&config, policy).unwrap();
    let config = config.to_str().unwrap();
    let mut daemon = Daemon::start(
        &coord,
        &["--config", config, "coordinate", "--poll", "1", "--json"],
    );
    daemon.wait_for("the first pass", |v| v["trigger"] == "start");
    dev.push_green_request("feature/c", "c.txt");
    eventually("the pass is under way", || {
        marks.with_extension("started").exists()
    });
    let main_during = w.server_ref("refs/heads/main");
    let (stderr, lines) = daemon.stop();
    assert!(
        marks.with_extension("done").exists(),
        "the pass was cut short"
    );
    let last: Value = serde_json::from_str(lines.last().expect("a pass line")).unwrap();
    assert!(merged_pass(&last), "the pass under way reported: {last}");
    assert!(stderr.contains("no pass was cut short"), "{stderr}");
    // Everything the pass wrote is whole: the merge, its queue record and
    // the pending CI note are on the server, and status reads them.
    assert_eq!(w.server_ref("refs/heads/main"), main_during);
    let status = dev.status();
    assert_eq!(
        status["queue"].as_array().map(Vec::len),
        Some(0),
        "{status}"
    );
    assert!(w.server_git(&["fsck", "--no-progress"]).is_empty());
    assert!(!coord.path.join(".git/refs/heads/main.lock").exists());
}

#[test]
fn two_coordinators_on_one_clone_never_run_a_pass_at_once_nor_merge_twice() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let marks = w.dir.path().join("inpass");
    // The dispatch marks when a pass is inside; a second one inside at the
    // same time records an overlap.
    let dispatch = format!(
        "sh -c 'if [ -e {m} ]; then echo overlap >> {m}.overlaps; fi; touch {m}; sleep 0.3; rm -f {m}'",
        m = marks.display()
    );
    let config = w.dir.path().join("policy.toml");
    std::fs::write(
        &config,
        format!("{FAST_POLICY}ci_dispatch_command = \"{dispatch}\"\n[queue]\nmax_batch_size = 1\n"),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let args = ["--config", config, "coordinate", "--poll", "1", "--json"];
    let mut one = Daemon::start(&coord, &args);
    let mut two = Daemon::start(&coord, &args);
    let heads: Vec<String> = (0..4)
        .map(|i| dev.push_green_request(&format!("feature/{i}"), &format!("f{i}.txt")))
        .collect();
    eventually("every request merged", || {
        dev.status()["queue"].as_array().is_some_and(Vec::is_empty)
    });
    let mut merged: BTreeMap<String, usize> = BTreeMap::new();
    one.drain();
    two.drain();
    for d in [one, two] {
        let (_, lines) = d.stop();
        for line in lines {
            let v: Value = serde_json::from_str(&line).unwrap();
            for m in v["react"]["merged"].as_array().into_iter().flatten() {
                *merged
                    .entry(m["head_sha"].as_str().unwrap().into())
                    .or_default() += 1;
            }
        }
    }
    let expected: BTreeMap<String, usize> = heads.into_iter().map(|h| (h, 1)).collect();
    assert_eq!(merged, expected, "each head merged exactly once");
    assert!(
        !marks.with_extension("overlaps").exists(),
        "two passes ran at once"
    );
}

/// `n` requests waiting for their `CI` check (main's own CI already green).
fn queue_of(w: &World, dev: &Clone, n: usize) -> Vec<String> {
    dev.report_ci(&w.server_ref("refs/heads/main").unwrap(), "success");
    (0..n)
        .map(|i| {
            let branch = format!("work/{i}");
            let head = dev.push_branch(&branch, &format!("w{i}.txt"), &format!("{i}\n"));
            dev.ok(&["request", &branch]);
            head
        })
        .collect()
}

fn green(w: &World, sha: &str) -> bool {
    w.note_lines("ci", sha)
        .iter()
        .any(|l| l["status"] == "success")
}

#[test]
fn runner_agents_racing_run_every_commit_once_and_drain_on_sigterm() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks_with(&["--wake"]);
    let dev = w.clone_as("dev");
    let ran = w.dir.path().join("ran.log");
    let script = format!("echo $DEPLOYBOT_SHA >> {}; sleep 0.3", ran.display());
    let agents: Vec<(Clone, Daemon)> = (0..3)
        .map(|i| {
            let c = w.clone_as(&format!("runner{i}"));
            let d = Daemon::start(
                &c,
                &[
                    "runner", "--check", "CI", "--jobs", "2", "--poll", "1", "--json", "--", "sh",
                    "-c", &script,
                ],
            );
            (c, d)
        })
        .collect();
    let heads = queue_of(&w, &dev, 8);
    eventually("every requested head green", || {
        heads.iter().all(|h| green(&w, h))
    });
    let log = std::fs::read_to_string(&ran).unwrap();
    for head in &heads {
        let runs = log.lines().filter(|l| l == head).count();
        assert_eq!(runs, 1, "{head} ran {runs} times:\n{log}");
    }
    for (c, d) in agents {
        let (stderr, _) = d.stop();
        assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
        assert_eq!(worktrees(&c), 1, "a run's worktree was left behind");
    }
}

#[test]
fn sigterm_drains_a_runner_and_its_claim_goes_back_at_once() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    let heads = queue_of(&w, &dev, 1);
    let runner = w.clone_as("runner");
    let started = w.dir.path().join("started");
    let script = format!("touch {}; sleep 600", started.display());
    let mut agent = Daemon::start(
        &runner,
        &[
            "runner", "--check", "CI", "--poll", "1", "--json", "--", "sh", "-c", &script,
        ],
    );
    agent.wait_for("the run's start", |v| v["event"] == "started");
    eventually("the command runs", || started.exists());
    let stopped_at = Instant::now();
    let (_, lines) = agent.stop();
    assert!(stopped_at.elapsed() < Duration::from_secs(30));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"failed\"") && l.contains("SIGTERM")),
        "{lines:#?}"
    );
    let note = w.note_lines("ci", &heads[0]);
    let last = note.last().expect("a claim and its release");
    assert_eq!(last["status"], "pending", "{note:?}");
    assert!(
        last.get("run_id").is_none(),
        "the claim was given back: {note:?}"
    );
    assert!(last["released_run_id"].is_string(), "{note:?}");
    assert_eq!(worktrees(&runner), 1);
    // Given back, it is pending again at once.
    let pending = dev.ok(&["ci", "pending", "--json"]);
    assert!(pending.contains(&heads[0]), "{pending}");
}

#[test]
fn a_killed_runners_claim_is_renewed_while_it_lives_and_taken_over_once_it_lapses() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    let heads = queue_of(&w, &dev, 1);
    let head = heads[0].clone();
    let (a, b) = (w.clone_as("runner-a"), w.clone_as("runner-b"));
    let pidfile = w.dir.path().join("a.pid");
    let hang = format!("echo $$ > {}; exec sleep 600", pidfile.display());
    let args = |script: &str| -> Vec<String> {
        [
            "runner", "--check", "CI", "--poll", "1", "--lease", "3", "--json", "--", "sh", "-c",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([script.to_string()])
        .collect()
    };
    let a_args = args(&hang);
    let mut agent_a = Daemon::start(&a, &a_args.iter().map(String::as_str).collect::<Vec<_>>());
    agent_a.wait_for("A's start", |v| v["event"] == "started");
    eventually("A's command runs", || pidfile.exists());
    // Past the lease twice over: A renews it, so B (started now) leaves it.
    std::thread::sleep(Duration::from_secs(7));
    let b_args = args("true");
    let agent_b = Daemon::start(&b, &b_args.iter().map(String::as_str).collect::<Vec<_>>());
    std::thread::sleep(Duration::from_secs(4));
    assert!(!green(&w, &head), "B took over a live claim");
    let claims = w.note_lines("ci", &head);
    let a_run = claims[0]["run_id"].as_str().unwrap().to_owned();
    let renewals = claims
        .iter()
        .filter(|l| l["run_id"] == a_run.as_str())
        .count();
    assert!(renewals >= 3, "A renewed its lease: {claims:?}");
    assert!(
        claims.iter().all(|l| l["expires_at"].is_string()),
        "{claims:?}"
    );
    // A dies outright, its command with it: nothing gives the claim back.
    signal(agent_a.child.id(), "KILL");
    let _ = agent_a.child.wait();
    let hung = std::fs::read_to_string(&pidfile).unwrap();
    signal(hung.trim().parse().unwrap(), "KILL");
    let killed = Instant::now();
    eventually("B takes the lapsed claim over", || green(&w, &head));
    assert!(killed.elapsed() < Duration::from_secs(60));
    let lines = w.note_lines("ci", &head);
    let winner = lines.iter().find(|l| l["status"] == "success").unwrap();
    assert_eq!(winner["runner"], "runner-b@example.com", "{lines:?}");
    assert_ne!(winner["run_id"], a_run.as_str());
    agent_b.stop();
}

#[test]
fn readme_walkthrough_a_request_lands_with_only_a_coordinator_and_a_runner_running() {
    // docs/running.md "Running it": hook install --wake, a coordinator, a runner, and
    // a developer who only pushes and requests. Nobody reports by hand.
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks_with(&["--wake"]);
    let (dev, coord, ci) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ci"));
    let mut coordinator = Daemon::start(&coord, &["coordinate", "--json"]);
    let runner = Daemon::start(
        &ci,
        &[
            "runner",
            "--check",
            "CI",
            "--jobs",
            "2",
            "--json",
            "--",
            "sh",
            "-c",
            "test -f x.txt",
        ],
    );
    let head = dev.push_branch("feature/x", "x.txt", "x\n");
    dev.ok(&["request", "feature/x"]);
    let merged = coordinator.wait_for("the merge", merged_pass);
    let main = merged["react"]["new_base_sha"].as_str().unwrap().to_owned();
    assert_eq!(merged["react"]["merged"][0]["head_sha"], head.as_str());
    eventually("the runner tested the new main", || green(&w, &main));
    let status = dev.status();
    assert_eq!(status["main"]["sha"], main.as_str(), "{status}");
    assert_eq!(
        status["main"]["release"]["state"], "awaiting-deploy",
        "{status}"
    );
    let (_, lines) = runner.stop();
    let finished: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"finished\""))
        .collect();
    assert!(finished.len() >= 2, "the head and the new main: {lines:#?}");
    coordinator.stop();
}

/// A free port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `GET path` on loopback, the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

#[test]
fn a_coordinator_serves_the_queue_page_from_its_own_process() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut daemon = Daemon::start(&coord, &["coordinate", "--serve", &addr, "--json"]);
    daemon.wait_for("the first pass", |v| v["trigger"] == "start");
    let head = dev.push_branch("feature/p", "p.txt", "p\n");
    dev.ok(&["request", "feature/p"]);
    // The page reads the mirror the coordinator keeps fresh: the request
    // shows up without the page fetching anything itself.
    eventually("the page shows the request", || {
        http_get(port, "/status.json").is_some_and(|body| body.contains(&head))
    });
    let page = http_get(port, "/").expect("the page");
    assert!(page.contains("feature/p"), "{page}");
    let (stderr, _) = daemon.stop();
    assert!(stderr.contains(&format!("http://{addr}")), "{stderr}");
}

#[test]
fn a_deploy_runner_deploys_the_base_tip_once_its_ci_passed() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let (dev, ops) = (w.clone_as("dev"), w.clone_as("ops"));
    let main = w.server_ref("refs/heads/main").unwrap();
    let deployed = w.dir.path().join("deployed");
    let script = format!("echo $DEPLOYBOT_SHA > {}", deployed.display());
    let agent = Daemon::start(
        &ops,
        &[
            "runner", "--deploy", "Deploy", "--poll", "1", "--json", "--", "sh", "-c", &script,
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!deployed.exists(), "deployed before CI passed");
    dev.report_ci(&main, "success");
    eventually("main deployed", || {
        std::fs::read_to_string(&deployed).is_ok_and(|s| s.trim() == main)
    });
    eventually("the deploy recorded", || {
        let out = std::process::Command::new("git")
            .current_dir(&w.server)
            .args(["notes", "--ref=deploybot/deploy", "show", &main])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("\"success\"")
    });
    agent.stop();
}
