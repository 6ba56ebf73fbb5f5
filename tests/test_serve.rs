//! `serve`: the real binary answering plain HTTP/1.0 requests on a real world,
//! and headless Chromium rendering the page.

mod common;

use common::{Clone, FAST_POLICY, World};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running `serve`, killed on drop (also when a test panics).
struct Served {
    child: Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// Starts `serve` in `clone` and waits until it accepts connections.
fn serve(clone: &Clone) -> Served {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = clone.std_command(&["serve", "--listen", &listen]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut served = Served {
        child: cmd.spawn().expect("spawn serve"),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = served.child.try_wait().expect("try_wait") {
            panic!("serve exited early: {status}");
        }
        assert!(Instant::now() < deadline, "serve never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    served
}

/// One HTTP/1.0 request: (status code, head, body).
fn http(port: u16, method: &str, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (code, head.to_string(), body.to_string())
}

/// A world with a paused pipeline, one queued branch and one blocked with markup in its reason and name.
fn paused_world() -> (World, Clone) {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    dev.push_green_request("feature/first", "first.txt");
    dev.react();
    dev.push_green_request("feature/queued", "queued.txt");
    dev.push_green_request("evil<b>\"q'", "evil.txt");
    dev.ok(&[
        "block",
        "evil<b>\"q'",
        "--reason",
        "<script>alert(1)</script>",
    ]);
    dev.ok(&["pause", "--reason", "x"]);
    (w, dev)
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn the_page_shows_the_paused_queue_escapes_records_and_survives_a_down_remote() {
    let (w, dev) = paused_world();
    let op = w.clone_as("operator");
    let served = serve(&op);

    let (code, head, page) = http(served.port, "GET", "/");
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("text/html"), "{head}");
    assert!(page.contains("paused"), "{page}");
    let (control_id, sha) = dev.pause_ids();
    let unpause = format!("git deploybot unpause --sha {sha} --control-id {control_id}");
    assert!(page.contains(&unpause), "the unpause command: {page}");
    assert!(page.contains("feature/queued"), "{page}");
    assert!(page.contains("feature/first"), "recent merges: {page}");
    assert!(page.contains("<svg"), "charts: {page}");
    // The delivery figures (`stats`) are drawn too.
    assert!(
        page.contains("id=\"delivery\"")
            && page.contains("Delivery, the last 30 days")
            && page.contains("p50, minutes"),
        "delivery: {page}"
    );
    // Records are text, never markup.
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("evil<b>"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("evil&lt;b&gt;&quot;q&#39;"), "{page}");

    // /status.json is `status --json`.
    let (code, head, body) = http(served.port, "GET", "/status.json");
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("application/json"), "{head}");
    let served_status: Value = serde_json::from_str(&body).expect("status.json is JSON");
    let cli_status = op.status();
    assert_eq!(sorted_keys(&served_status), sorted_keys(&cli_status));
    for key in ["control", "main", "queue", "next", "candidates"] {
        assert_eq!(served_status[key], cli_status[key], "{key}");
    }

    // Read-only: other methods are refused, unknown paths are not found.
    let (code, head, _) = http(served.port, "POST", "/");
    assert_eq!(code, 405, "{head}");
    assert!(head.contains("Allow: GET, HEAD"), "{head}");
    let (code, _, body) = http(served.port, "HEAD", "/");
    assert_eq!((code, body.as_str()), (200, ""));
    assert_eq!(http(served.port, "GET", "/nope").0, 404);

    // Many requests, one fetch every few seconds: a change within the
    // window is not seen yet.
    let before = Instant::now();
    http(served.port, "GET", "/");
    dev.ok(&["cancel", "feature/queued"]);
    let (_, _, cached) = http(served.port, "GET", "/");
    if before.elapsed() < Duration::from_secs(4) {
        assert!(cached.contains("feature/queued"), "served from the cache");
    }
    let server_refs = w.server_refs();

    // The remote goes down: the last state, its age and a banner.
    let moved = w.dir.path().join("server-moved.git");
    std::fs::rename(&w.server, &moved).expect("move the server away");
    std::thread::sleep(Duration::from_secs(6));
    let (code, _, page) = http(served.port, "GET", "/");
    assert_eq!(code, 200);
    assert!(page.contains("Cannot refresh from `origin`"), "{page}");
    assert!(page.contains("paused"), "{page}");
    assert!(page.contains(&unpause), "{page}");
    let (_, _, body) = http(served.port, "GET", "/status.json");
    let stale: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(stale["cached"], true);
    std::fs::rename(&moved, &w.server).expect("move the server back");
    drop(served);
    assert_eq!(w.server_refs(), server_refs, "serve never writes");
}

/// The first Chromium binary on PATH, if any.
fn chromium() -> Option<&'static str> {
    ["chromium-headless-shell", "chromium", "chromium-browser"]
        .into_iter()
        .find(|bin| {
            std::process::Command::new(bin)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn run_chromium(bin: &str, args: &[&str], url: &str) -> String {
    let out = std::process::Command::new(bin)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{bin} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn headless_chromium_renders_the_paused_queue() {
    let Some(bin) = chromium() else {
        println!(
            "SKIPPED: no chromium-headless-shell or chromium on PATH (.ci/run installs chromium-headless-shell)"
        );
        return;
    };
    let (w, _dev) = paused_world();
    let op = w.clone_as("operator");
    let served = serve(&op);
    let url = format!("http://127.0.0.1:{}/", served.port);
    let dom = run_chromium(bin, &["--dump-dom"], &url);
    assert!(dom.contains("paused"), "{dom}");
    assert!(dom.contains("feature/queued"), "{dom}");
    assert!(dom.contains("git deploybot unpause --sha"), "{dom}");
    // The parsed DOM has no script element: the reason stayed text.
    assert!(!dom.contains("<script>"), "{dom}");
    let mut sizes = vec![("desktop", "1280,900"), ("phone", "390,1600")];
    if std::env::var_os("DEPLOYBOT_SCREENSHOTS").is_some() {
        sizes.push(("desktop-tall", "1280,1250"));
    }
    for (name, size) in sizes {
        let shot = w.dir.path().join(format!("queue-page-{name}.png"));
        let arg = format!("--screenshot={}", shot.display());
        run_chromium(bin, &[&arg, &format!("--window-size={size}")], &url);
        let bytes = std::fs::read(&shot).expect("a screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "{name} screenshot is a PNG");
        if let Some(dir) = std::env::var_os("DEPLOYBOT_SCREENSHOTS") {
            std::fs::copy(&shot, Path::new(&dir).join(shot.file_name().expect("name")))
                .expect("keep the screenshot");
        }
    }
}

/// Issue 19: one slow client never stops `serve`. A client that pipelines
/// requests and never reads its answers, one that connects and sends
/// nothing, and one that sends an endless head: each holds at most its own
/// connection for a bounded time, and another client is answered meanwhile.
#[test]
fn a_slow_client_never_stops_the_others() {
    let (_w, dev) = paused_world();
    let served = serve(&dev);
    // Never reads: a thousand pipelined page requests.
    let mut hog = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    let pipelined = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(1000);
    hog.write_all(pipelined.as_bytes()).expect("send");
    // Never sends anything.
    let _silent = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    // Sends a head that never ends, bigger than any head the page needs.
    let mut endless = TcpStream::connect(("127.0.0.1", served.port)).expect("connect");
    let _ = endless.write_all(&vec![b'x'; 64 * 1024]);
    let (code, _, body) = http(served.port, "GET", "/status.json");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"control\""), "{body}");
    // The endless head was answered 400 and closed, not served forever.
    endless
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = endless.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

/// Issue 21: the page shows the failing run's log tail (escaped) under the
/// base release.
#[test]
fn the_page_shows_the_failing_runs_log() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let main = w.server_ref("refs/heads/main").expect("main");
    let script = "echo 'expected <ok> got <script>boom</script>' >&2; exit 1";
    let out = dev.run(&[
        "ci", "run", "--check", "CI", "--sha", &main, "--", "sh", "-c", script,
    ]);
    assert!(!out.status.success());
    let served = serve(&dev);
    let (code, _, page) = http(served.port, "GET", "/");
    assert_eq!(code, 200);
    assert!(page.contains("log of the failing run"), "{page}");
    assert!(
        page.contains("expected &lt;ok&gt; got &lt;script&gt;boom&lt;/script&gt;"),
        "escaped: {page}"
    );
    assert!(!page.contains("<script>boom"), "never raw");
}

const TRAIN_POLICY: &str = "[queue]\nlanding = \"tested\"\nmax_batch_size = 1\nspeculation_depth = 3\n\n[pipeline]\nci_failure_grace_seconds = 0\n";

/// A tested-landing world where `feature/login` landed as a tested
/// candidate; returns the world, the developer, the coordinator and main.
fn landed_login() -> (World, Clone, Clone, String) {
    let (w, dev, coord) = common::guarded_team(TRAIN_POLICY);
    dev.push_green_request("feature/login", "login.txt");
    let r = coord.react();
    let tip = r["built"][0]["sha"].as_str().expect("built").to_string();
    dev.report_ci(&tip, "success");
    coord.react();
    (w, dev, coord, tip)
}

/// A tested-landing world with a train under test: one request landed, three
/// candidates stacked (the bottom passed, two testing), one more queued.
fn train_world() -> (World, Clone) {
    let (w, dev, coord, _) = landed_login();
    for (branch, file) in [
        ("feature/search", "search.txt"),
        ("fix/typo", "typo.txt"),
        ("feature/export", "export.txt"),
        ("docs/faq", "faq.txt"),
    ] {
        dev.push_green_request(branch, file);
    }
    let r = coord.react();
    let bottom = r["built"][0]["sha"].as_str().expect("built").to_string();
    dev.report_ci(&bottom, "success");
    (w, dev)
}

/// A tested-landing world in recovery: main's deploy failed, the pipeline
/// paused, a repair was claimed and requested, and `unpause` started the
/// recovery that built the repair alone on the failed tip; another request
/// waits behind it.
fn recovery_world() -> (World, Clone) {
    let (w, dev, coord, tip) = landed_login();
    dev.ok(&[
        "deploy", "report", "--sha", &tip, "--check", "Deploy", "--status", "failure",
    ]);
    coord.react();
    dev.push_green_request("feature/search", "search.txt");
    dev.ok(&["claim-repair", "--owner", "dev"]);
    dev.push_fix_to_repair(&tip);
    let (id, sha) = dev.pause_ids();
    dev.ok(&["unpause", "--sha", &sha, "--control-id", &id]);
    (w, dev)
}

/// Issue 23: the docs' screenshots show a real queue (a train of candidates;
/// a recovery), rendered by headless Chromium; `DEPLOYBOT_SCREENSHOTS=DIR`
/// keeps them (docs/queue-page.png and docs/queue-page-recovery.png are
/// made this way).
#[test]
fn headless_chromium_renders_a_train_and_a_recovery() {
    let Some(bin) = chromium() else {
        println!(
            "SKIPPED: no chromium-headless-shell or chromium on PATH (.ci/run installs chromium-headless-shell)"
        );
        return;
    };
    for (name, (w, dev)) in [
        ("queue-page", train_world()),
        ("queue-page-recovery", recovery_world()),
    ] {
        let served = serve(&dev);
        let url = format!("http://127.0.0.1:{}/", served.port);
        let dom = run_chromium(bin, &["--dump-dom"], &url);
        assert!(
            dom.contains("id=\"candidates\""),
            "{name}: candidates shown: {dom}"
        );
        if name == "queue-page" {
            for branch in ["feature/search", "fix/typo", "feature/export", "docs/faq"] {
                assert!(dom.contains(branch), "{name}: {branch}: {dom}");
            }
            assert!(dom.contains("passed") && dom.contains("testing"), "{dom}");
        } else {
            assert!(
                dom.contains("deploybot/repair/"),
                "{name}: the repair: {dom}"
            );
            assert!(dom.contains("recover"), "{name}: the recovery: {dom}");
        }
        let shot = w.dir.path().join(format!("{name}.png"));
        let arg = format!("--screenshot={}", shot.display());
        run_chromium(bin, &[&arg, "--window-size=1280,1250"], &url);
        let bytes = std::fs::read(&shot).expect("a screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "{name} screenshot is a PNG");
        if let Some(dir) = std::env::var_os("DEPLOYBOT_SCREENSHOTS") {
            std::fs::copy(&shot, Path::new(&dir).join(shot.file_name().expect("name")))
                .expect("keep the screenshot");
        }
    }
}
