//! Routes and counters of a well-behaved target, over real sockets.

mod support;

use hyper::StatusCode;
use onslaught_target::TargetConfig;
use support::Server;

#[tokio::test]
async fn ping_answers_pong() {
    let server = Server::start(TargetConfig::default()).await;
    let reply = server.get("/ping").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.body, r#"{"message":"pong"}"#);
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_counted_as_other() {
    let server = Server::start(TargetConfig::default()).await;
    let reply = server.get("/nope?latency=1ms").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"], "not found");
    let metrics = server.target.metrics();
    assert_eq!(metrics.routes.other.requests_received, 1);
    assert_eq!(metrics.routes.other.responses_sent, 1);
    assert_eq!(metrics.routes.ping.requests_received, 0);
}

#[tokio::test]
async fn metrics_count_requests_responses_and_connections() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    for _ in 0..5 {
        assert_eq!(client.get("/ping").await.status, StatusCode::OK);
    }
    for _ in 0..2 {
        assert_eq!(client.get("/elsewhere").await.status, StatusCode::NOT_FOUND);
    }
    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(metrics.headers["content-type"], "application/json");
    let json = metrics.json();
    assert_eq!(json["requests_received"], 8);
    assert_eq!(
        json["responses_sent"], 7,
        "the /metrics response is not sent yet"
    );
    assert_eq!(json["routes"]["/ping"]["requests_received"], 5);
    assert_eq!(json["routes"]["/ping"]["responses_sent"], 5);
    assert_eq!(json["routes"]["other"]["responses_sent"], 2);
    assert_eq!(json["routes"]["/ping"]["statuses"]["200"], 5);
    assert_eq!(json["routes"]["other"]["statuses"]["404"], 2);
    assert_eq!(json["routes"]["/metrics"]["requests_received"], 1);
    assert_eq!(json["connections_accepted"], 2);
    assert!(json["uptime_ms"].is_u64());

    let snapshot = server.target.metrics();
    assert_eq!(snapshot.responses_sent, 8);
    assert_eq!(snapshot.routes.metrics.responses_sent, 1);
    server.stop().await;
}

#[tokio::test]
async fn metrics_ignore_fault_parameters() {
    let server = Server::start(TargetConfig::default()).await;
    let reply = server.get("/metrics?status=503&reset=1").await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_parameters_get_400() {
    let server = Server::start(TargetConfig::default()).await;
    let reply = server.get("/ping?latency=soon").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let error = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("latency"), "{error}");
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    assert_eq!(client.get("/ping").await.status, StatusCode::OK);
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
}
