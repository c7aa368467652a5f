//! Issue 9, what the engine counts: attempts and sends, bytes written, connect failures with
//! their reason and back-off. Apart from `engine.rs`, whose schedule tests a burst of load
//! beside them would make late.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::time::Duration;

use onslaught_engine::Mode;
use onslaught_stats::ErrorKind;
use onslaught_target::TargetConfig;

mod support;
use support::{run, serve, spec};

/// Issue 9: a request whose connection cannot be opened is attempted, never sent: no bytes out,
/// no latency, its own count with the OS's reason; and a closed loop pauses between failed
/// connects instead of spinning (it made ~100,000 attempts a second before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_attempts_not_sends_and_back_off() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut s = spec(
        &format!("http://127.0.0.1:{port}/ping"),
        Mode::Avalanche,
        None,
        8,
    );
    s.duration = Some(Duration::from_secs(1));
    let (refused, elapsed) = run(s).await;
    let c = &refused.counters;
    assert!(elapsed < Duration::from_millis(1_500), "took {elapsed:?}");
    assert_eq!(c.requests_sent, 0, "{c:?}");
    assert_eq!(c.bytes_sent, 0, "{c:?}");
    assert_eq!(c.responses_received, 0);
    assert!(refused.latency.is_empty() && refused.service.is_empty());
    assert!(c.requests_attempted >= 8, "{c:?}");
    assert_eq!(c.errors[&ErrorKind::Connect], c.requests_attempted, "{c:?}");
    // 8 connections backing off 5 ms doubling to 100 ms: about 13 attempts each in a second.
    assert!(
        c.requests_attempted < 1_000,
        "{} connect attempts in 1 s: no back-off",
        c.requests_attempted
    );
    assert_eq!(
        c.error_reasons
            .get("connect: connection refused (os error 111)"),
        Some(&c.requests_attempted),
        "{:?}",
        c.error_reasons
    );
}

/// Bytes out are the bytes written to sockets: every request of a run is the same size on the
/// wire, and a request is counted as sent once, when an open connection takes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_out_are_written_bytes_and_sends_are_attempts() {
    let (_target, base) = serve(TargetConfig::default()).await;
    let (interval, _) = run(spec(
        &format!("{base}/ping"),
        Mode::Avalanche,
        Some(1_000),
        4,
    ))
    .await;
    let c = &interval.counters;
    assert_eq!(c.requests_attempted, 1_000);
    assert_eq!(c.requests_sent, 1_000);
    assert_eq!(c.bytes_sent % 1_000, 0, "{c:?}");
    // "GET /ping HTTP/1.1\r\nhost: 127.0.0.1:PORT\r\n\r\n" and nothing else.
    let per_request = c.bytes_sent / 1_000;
    let expected = format!(
        "GET /ping HTTP/1.1\r\nhost: {}\r\n\r\n",
        &base["http://".len()..]
    );
    assert_eq!(per_request, expected.len() as u64, "{c:?}");
}
