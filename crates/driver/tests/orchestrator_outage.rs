//! A driver through an orchestrator outage: it keeps running its test and publishing metrics
//! while the orchestrator is silent for less than `orchestrator_timeout` (a restart), and stops
//! its load by itself past it (no runaway load).
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use onslaught_driver::{DriverConfig, DriverStats};
use onslaught_plan::{TestPlan, TestRequest};
use onslaught_protocol::{
    Heartbeat, HeartbeatState, Metrics, NodeState, PROTOCOL_VERSION, Role, TestConfig, Topic,
    Trigger, TriggerAction, decode, encode, now_ms,
};
use onslaught_transport::{InProcess, Subscription, Transport};
use tokio_util::sync::CancellationToken;

const NODE: &str = "driver-1";

/// A rate-bound test of `duration_ms` against a closed port (every request a quick connect
/// error: what matters here is how long the driver runs, not what it measures).
fn config(test_id: &str, duration_ms: u64) -> TestConfig {
    let mut request = TestRequest::new("tsunami", "http://127.0.0.1:1/");
    request.rate = Some(20.0);
    request.duration_ms = Some(duration_ms);
    request.concurrency = 1;
    request.timeout_ms = 500;
    TestConfig::new(
        test_id,
        TestPlan::try_from(request).unwrap(),
        vec![NODE.to_owned()],
    )
}

struct Setup {
    transport: Arc<InProcess>,
    metrics: Subscription,
    shutdown: CancellationToken,
}

/// A driver with `timeout` as its orchestrator timeout, configured and triggered for a test of
/// `duration_ms` by a fake orchestrator that heartbeats once and then falls silent.
async fn run_test(test_id: &str, duration_ms: u64, timeout: Duration) -> Setup {
    let transport = Arc::new(InProcess::new());
    let mut heartbeats = transport.subscribe(Topic::Heartbeat).await.unwrap();
    let metrics = transport.subscribe(Topic::Metrics).await.unwrap();
    let shutdown = CancellationToken::new();
    let mut driver = DriverConfig::new(NODE, "in-process");
    driver.heartbeat_every = Duration::from_millis(100);
    driver.metrics_every = Duration::from_millis(200);
    driver.orchestrator_timeout = timeout;
    tokio::spawn(onslaught_driver::run(
        driver,
        Arc::clone(&transport) as Arc<dyn Transport>,
        Arc::new(DriverStats::default()),
        shutdown.clone(),
    ));
    tokio::time::timeout(Duration::from_secs(5), heartbeats.recv())
        .await
        .expect("no heartbeat from the driver within 5 s")
        .unwrap();
    let publish = |topic: Topic, payload: Vec<u8>| {
        let transport = Arc::clone(&transport);
        async move {
            transport
                .publish(topic, "o", Bytes::from(payload))
                .await
                .unwrap();
        }
    };
    let beat = Heartbeat::new("orchestrator", Role::Orchestrator, HeartbeatState::idle());
    publish(Topic::Heartbeat, encode(&beat)).await;
    publish(Topic::TestConfig, encode(&config(test_id, duration_ms))).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let payload = tokio::time::timeout_at(deadline, heartbeats.recv())
            .await
            .expect("the driver did not acknowledge the config within 5 s")
            .unwrap();
        let beat: Heartbeat = decode(&payload).unwrap();
        if beat.node_id == NODE && beat.state.state == NodeState::Configured {
            break;
        }
    }
    let trigger = Trigger {
        protocol_version: PROTOCOL_VERSION,
        test_id: test_id.to_owned(),
        trigger: TriggerAction::Start,
        start_at_ms: now_ms() + 50,
        rate: None,
        rate_total: None,
        users: None,
        users_total: None,
        effective_at_ms: None,
        drivers: Vec::new(),
        issued_at_ms: now_ms(),
        epoch: None,
        signature: None,
    };
    publish(Topic::Trigger, encode(&trigger)).await;
    Setup {
        transport,
        metrics,
        shutdown,
    }
}

/// Every metrics message of the test up to its final one, failing after `within`.
async fn until_final(metrics: &mut Subscription, within: Duration) -> Vec<Metrics> {
    let deadline = tokio::time::Instant::now() + within;
    let mut all = Vec::new();
    loop {
        let payload = tokio::time::timeout_at(deadline, metrics.recv())
            .await
            .expect("no final metrics message in time")
            .unwrap();
        let m: Metrics = decode(&payload).unwrap();
        let last = m.is_final;
        all.push(m);
        if last {
            return all;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_runs_to_its_end_through_a_silence_shorter_than_the_grace() {
    let started = now_ms();
    let mut setup = run_test("through", 3_000, Duration::from_secs(10)).await;
    // The orchestrator never speaks again: 3 s of silence, well within the grace.
    let all = until_final(&mut setup.metrics, Duration::from_secs(10)).await;
    let last = all.last().unwrap();
    assert_eq!(
        last.stopped, None,
        "the run was cut short: {:?}",
        last.stopped
    );
    // Metrics kept flowing during the silence, not only at the end.
    let during = all
        .iter()
        .filter(|m| !m.is_final && m.sent_at_ms > started + 1_500)
        .count();
    assert!(during >= 3, "{during} metrics messages during the silence");
    assert!(now_ms() - started >= 3_000, "the run ended early");
    setup.shutdown.cancel();
    drop(setup.transport);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_the_driver_stops_its_load_by_itself() {
    let started = now_ms();
    let mut setup = run_test("orphaned", 60_000, Duration::from_millis(1_500)).await;
    let all = until_final(&mut setup.metrics, Duration::from_secs(10)).await;
    let last = all.last().unwrap();
    let reason = last.stopped.clone().unwrap_or_default();
    assert!(
        reason.contains("no orchestrator heartbeat"),
        "final message says {reason:?}"
    );
    let took = now_ms() - started;
    assert!(
        took < 6_000,
        "stopped {took} ms after the last orchestrator heartbeat"
    );
    setup.shutdown.cancel();
    drop(setup.transport);
}
