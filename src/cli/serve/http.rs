//! The smallest HTTP/1.x server the queue page needs, with every connection
//! bounded: a thread per connection (at most [`MAX_CONNECTIONS`] at once),
//! [`READ_TIMEOUT`] to send the request head (at most [`MAX_HEAD_BYTES`]),
//! [`WRITE_TIMEOUT`] to take the answer, then the connection closes. So a
//! client that never sends, or never reads, holds one thread for seconds and
//! never stops the others (issue 19; the crate it replaces had no timeouts).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Connections served at once; one more is answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 64;
/// Longest request head read (request line and headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to read the answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// One answer: status code, content type, body, extra headers.
pub struct Answer {
    /// The status code.
    pub code: u16,
    /// The `Content-Type`.
    pub kind: &'static str,
    /// The body (not sent for `HEAD`).
    pub body: String,
    /// More headers, e.g. `Allow`.
    pub headers: Vec<(&'static str, &'static str)>,
}

/// Accepts connections forever, answering each request head with `answer`
/// (method, path) on its own thread.
pub fn serve<F>(listener: TcpListener, answer: F) -> std::io::Result<()>
where
    F: Fn(&str, &str) -> Answer + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            // Bounded even when the client does not read: the write times out.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let busy = Answer {
                code: 503,
                kind: "text/plain; charset=utf-8",
                body: "busy: too many open connections; retry in a moment\n".into(),
                headers: vec![("Retry-After", "1")],
            };
            let _ = write_answer(&stream, &busy, false);
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let (answer, open) = (Arc::clone(&answer), Arc::clone(&open));
        std::thread::spawn(move || {
            let _ = handle(&stream, answer.as_ref());
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// Reads one request head and writes one answer; any error or timeout
/// just ends the connection.
fn handle(stream: &TcpStream, answer: &dyn Fn(&str, &str) -> Answer) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let head = match read_head(stream)? {
        Some(head) => head,
        None => {
            let too_big = Answer {
                code: 400,
                kind: "text/plain; charset=utf-8",
                body: "bad request: the request head is malformed or over 16 KiB\n".into(),
                headers: Vec::new(),
            };
            return write_answer(stream, &too_big, true);
        }
    };
    let mut words = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let result = answer(method, target);
    write_answer(stream, &result, method != "HEAD")
}

/// The request head up to its blank line; None when it is over the bound
/// or not text.
fn read_head(mut stream: &TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
    }
    Ok(String::from_utf8(head).ok())
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn write_answer(mut stream: &TcpStream, answer: &Answer, with_body: bool) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        answer.code,
        reason(answer.code),
        answer.kind,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(answer.body.as_bytes())?;
    }
    stream.flush()
}
