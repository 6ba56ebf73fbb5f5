//! What `serve` and its queue page say.

use super::human_age;

/// `serve` started: where to look.
pub fn serving(addr: &str, source: &str, every: u64) -> String {
    format!(
        "serving the queue page on http://{addr}/ (and /status.json); read-only, refreshed from `{source}` at most every {every}s; Ctrl-C stops"
    )
}

/// `--listen` could not be bound.
pub fn cannot_listen(addr: &str, why: &str) -> String {
    format!("cannot listen on {addr}: {why}; pass another --listen ADDR (e.g. 127.0.0.1:8081)")
}

/// The page's banner when the last refresh failed and an older state is shown.
pub fn stale_banner(source: &str, age: u64, why: &str) -> String {
    format!(
        "Cannot refresh from `{source}`: {why}. Showing the last state read, {} old; it may be stale.",
        human_age(age)
    )
}

/// The page's footer line: where the state came from and how old it is.
pub fn page_freshness(source: &str, age: u64, every: u64) -> String {
    format!(
        "read from `{source}` {} ago; refreshed at most every {every}s",
        human_age(age)
    )
}

/// The answer to a method other than GET and HEAD.
pub fn method_not_allowed(method: &str) -> String {
    format!("{method} is not allowed: this page is read-only (GET, HEAD)\n")
}

/// The answer to an unknown path.
pub fn not_found(path: &str) -> String {
    format!("nothing at {path}; try / or /status.json\n")
}

/// The delivery figures could not be computed this time (the page goes on).
pub fn stats_unavailable(why: &str) -> String {
    format!("serve: delivery figures unavailable ({why}); the page shows the queue without them")
}
