//! Misbehaviour, from config and from query parameters, over real sockets.

mod support;

use std::time::Duration;

use hyper::StatusCode;
use onslaught_target::{Latency, Stall, TargetConfig};
use support::{Server, raw_get_until_closed};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);
/// How long raw-socket tests wait for the server to close a connection.
const PATIENCE: Duration = Duration::from_secs(2);
/// Generous slack for timing assertions on a busy machine.
const TOLERANCE: Duration = Duration::from_millis(40);

fn assert_near(actual: Duration, expected: Duration) {
    assert!(
        actual + TOLERANCE >= expected && actual <= expected + TOLERANCE,
        "took {actual:?}, expected {expected:?} ± {TOLERANCE:?}"
    );
}

#[tokio::test]
async fn fixed_latency_from_config_delays_every_request() {
    let config = TargetConfig {
        latency: Some(Latency::parse("100ms").unwrap()),
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let mut client = server.connect().await;
    for _ in 0..2 {
        let sent = Instant::now();
        assert_eq!(client.get("/ping").await.status, StatusCode::OK);
        assert_near(sent.elapsed(), 100 * MS);
    }
}

#[tokio::test]
async fn uniform_latency_from_query_stays_in_range() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    for _ in 0..3 {
        let sent = Instant::now();
        assert_eq!(
            client.get("/ping?latency=50ms..80ms").await.status,
            StatusCode::OK
        );
        let took = sent.elapsed();
        assert!(took >= 50 * MS && took <= 80 * MS + TOLERANCE, "{took:?}");
    }
    let sent = Instant::now();
    client.get("/ping").await;
    assert!(
        sent.elapsed() < TOLERANCE,
        "latency must not outlive its request"
    );
}

#[tokio::test]
async fn error_ratio_one_answers_500() {
    let config = TargetConfig {
        error_ratio: 1.0,
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let reply = server.get("/ping").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.json()["status"], 500);
    assert_eq!(
        server.get("/ping?error_ratio=0").await.status,
        StatusCode::OK
    );
    assert_eq!(server.target.metrics().responses_sent, 2);
}

#[tokio::test]
async fn error_ratio_from_query_uses_error_status() {
    let server = Server::start(TargetConfig::default()).await;
    let reply = server.get("/ping?error_ratio=1&error_status=502").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn status_parameter_forces_the_status() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    for _ in 0..3 {
        let reply = client.get("/ping?status=503").await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn close_parameter_closes_the_connection_after_answering() {
    let server = Server::start(TargetConfig::default()).await;
    let received = raw_get_until_closed(server.addr, "/ping?close=1", PATIENCE)
        .await
        .unwrap();
    assert!(received.starts_with("HTTP/1.1 200 OK\r\n"), "{received}");
    assert!(
        received.to_ascii_lowercase().contains("connection: close"),
        "{received}"
    );
    assert!(received.ends_with(r#"{"message":"pong"}"#), "{received}");

    let kept_open = raw_get_until_closed(server.addr, "/ping", 200 * MS).await;
    assert!(
        kept_open.is_err(),
        "without close=1 the connection stays open"
    );
}

#[tokio::test]
async fn close_ratio_one_closes_every_connection() {
    let config = TargetConfig {
        close_ratio: 1.0,
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let received = raw_get_until_closed(server.addr, "/ping", PATIENCE)
        .await
        .unwrap();
    assert!(
        received.to_ascii_lowercase().contains("connection: close"),
        "{received}"
    );
}

#[tokio::test]
async fn reset_parameter_drops_the_connection_unanswered() {
    let server = Server::start(TargetConfig::default()).await;
    let err = raw_get_until_closed(server.addr, "/ping?reset=1", PATIENCE)
        .await
        .expect_err("the connection is reset, not closed after a response");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    let metrics = server.target.metrics();
    assert_eq!(metrics.requests_received, 1);
    assert_eq!(metrics.responses_sent, 0);
    assert_eq!(
        server.get("/ping").await.status,
        StatusCode::OK,
        "server still serves"
    );
}

/// Sends `/ping{query}` at `at` on an already open connection and returns how long it took.
async fn ping_at(server: &Server, at: Instant, query: &str) -> Duration {
    let mut client = server.connect().await;
    tokio::time::sleep_until(at).await;
    let sent = Instant::now();
    assert_eq!(
        client.get(&format!("/ping{query}")).await.status,
        StatusCode::OK
    );
    sent.elapsed()
}

#[tokio::test]
async fn stall_from_config_holds_requests_arriving_in_a_window() {
    let config = TargetConfig {
        stall: Some(Stall {
            every: 1000 * MS,
            duration: 200 * MS,
        }),
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let clock = Instant::now(); // the stall clock started a few microseconds earlier
    assert_near(ping_at(&server, clock + 500 * MS, "").await, Duration::ZERO);
    assert_near(ping_at(&server, clock + 1000 * MS, "").await, 200 * MS);
    assert_near(
        ping_at(&server, clock + 1300 * MS, "").await,
        Duration::ZERO,
    );
}

#[tokio::test]
async fn stall_from_query_holds_requests_until_the_window_ends() {
    let server = Server::start(TargetConfig::default()).await;
    let clock = Instant::now();
    let query = "?stall_every=1s&stall_for=200ms";
    assert_near(ping_at(&server, clock + 1100 * MS, query).await, 100 * MS);
    assert_near(
        ping_at(&server, clock + 1250 * MS, query).await,
        Duration::ZERO,
    );
    assert_near(
        ping_at(&server, clock + 1250 * MS, "").await,
        Duration::ZERO,
    );
}
