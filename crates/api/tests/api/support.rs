//! A real orchestrator over the in-process transport, real drivers and the real built-in target,
//! and helpers to call the router without a socket.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bytes::Bytes;
use onslaught_api::ApiOptions;
use onslaught_driver::{DriverConfig, DriverStats};
use onslaught_orchestrator::{Orchestrator, OrchestratorConfig, TestView};
use onslaught_target::{Target, TargetConfig};
use onslaught_transport::{InProcess, Transport};
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Everything one test needs; stops it all on drop.
pub struct Harness {
    pub orchestrator: Orchestrator,
    pub transport: Arc<dyn Transport>,
    pub router: Router,
    /// `http://127.0.0.1:PORT/ping` on the built-in target.
    pub target: String,
    pub shutdown: CancellationToken,
    _reports: TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Harness {
    /// A target, an orchestrator, `drivers` drivers (`driver-1`, ...) all live, and the router.
    pub async fn start(drivers: usize, options: ApiOptions) -> Self {
        let reports = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("http://{}/ping", listener.local_addr().unwrap());
        let stop = shutdown.clone();
        tokio::spawn(
            Target::new(TargetConfig::default())
                .serve(listener, async move { stop.cancelled().await }),
        );

        let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
        let mut config = OrchestratorConfig::new(reports.path());
        config.start_delay = Duration::from_millis(50);
        config.heartbeat_every = Duration::from_millis(200);
        config.ack_timeout = Duration::from_secs(3);
        let orchestrator = Orchestrator::new(config, Arc::clone(&transport));
        orchestrator.spawn(shutdown.clone()).await.unwrap();
        for i in 1..=drivers {
            let mut config = DriverConfig::new(format!("driver-{i}"), "in-process");
            config.heartbeat_every = Duration::from_millis(200);
            config.metrics_every = Duration::from_millis(100);
            tokio::spawn(onslaught_driver::run(
                config,
                Arc::clone(&transport),
                Arc::new(DriverStats::default()),
                shutdown.clone(),
            ));
        }
        if drivers > 0 {
            let ready = orchestrator
                .wait_for_drivers(drivers, Duration::from_secs(5))
                .await;
            assert_eq!(ready, drivers, "drivers did not come up");
        }
        let router = onslaught_api::router(orchestrator.clone(), options);
        Self {
            orchestrator,
            transport,
            router,
            target,
            shutdown,
            _reports: reports,
        }
    }

    /// Sends `request` through the router.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.router, request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(get(path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(post(path, body)).await
    }

    /// A POST without a body, as the dashboard sends `start` and `stop`.
    pub async fn post_empty(&self, path: &str) -> Answer {
        self.send(Request::post(path).body(Body::empty()).unwrap())
            .await
    }

    /// A small load test on the target: `requests` per driver, 2 connections.
    pub fn avalanche(&self, requests: u64) -> Value {
        serde_json::json!({
            "test_type": "avalanche",
            "url": self.target,
            "requests_per_driver": requests,
            "concurrency": 2,
        })
    }

    /// Waits (at most 15 s) until the test ended and its report is written.
    pub async fn wait_ended(&self, id: &str) -> TestView {
        tokio::time::timeout(Duration::from_secs(15), self.orchestrator.wait_test(id))
            .await
            .expect("the test did not end in time")
            .unwrap()
    }

    /// How many tests the API lists in all.
    pub async fn total(&self) -> u64 {
        let answer = self.get("/api/tests").await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.json()["total"].as_u64().unwrap()
    }
}

/// A router's answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts a JSON error answer with `status`; returns the body.
    pub fn error(&self, status: StatusCode) -> Value {
        assert_eq!(
            self.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header(header::CONTENT_TYPE), Some("application/json"));
        let body = self.json();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        body
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

pub fn post(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// `request` with `Authorization: Bearer <token>`.
pub fn bearer(mut request: Request<Body>, token: &str) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    request
}
