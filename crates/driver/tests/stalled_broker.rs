//! The driver against a transport whose publishes stall (a broker that takes nothing): its
//! control loop keeps reacting on time, and once the transport recovers every metrics message
//! arrives, in order; a shutdown drains the queue within its bound.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use onslaught_driver::{DriverConfig, DriverStats};
use onslaught_plan::{TestPlan, TestRequest};
use onslaught_protocol::{
    Heartbeat, HeartbeatState, Metrics, NodeState, PROTOCOL_VERSION, Role, TestConfig, Topic,
    Trigger, TriggerAction, decode, encode, now_ms,
};
use onslaught_target::{Target, TargetConfig};
use onslaught_transport::{InProcess, Subscription, Transport, TransportError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// In-process, but the driver's publishes wait while the gate is shut (and go through, in
/// order, once it opens).
struct Stalling {
    inner: Arc<InProcess>,
    open: watch::Sender<bool>,
    /// Heartbeat publishes that found the gate shut.
    held_heartbeats: AtomicU64,
}

impl Transport for Stalling {
    fn publish(
        &self,
        topic: Topic,
        key: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        let key = key.to_owned();
        let mut open = self.open.subscribe();
        if topic == Topic::Heartbeat && !*open.borrow() {
            self.held_heartbeats.fetch_add(1, Ordering::Relaxed);
        }
        Box::pin(async move {
            let _ = open.wait_for(|open| *open).await;
            self.inner.publish(topic, &key, payload).await
        })
    }

    fn subscribe(&self, topic: Topic) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        self.inner.subscribe(topic)
    }
}

/// A driver on a stalling transport, the test playing the orchestrator on the inner one.
struct Setup {
    inner: Arc<InProcess>,
    stalling: Arc<Stalling>,
    stats: Arc<DriverStats>,
    shutdown: CancellationToken,
    driver: tokio::task::JoinHandle<Result<(), onslaught_driver::DriverError>>,
    /// Stops the orchestrator's heartbeats.
    orchestrator: CancellationToken,
    metrics: Subscription,
    heartbeats: Subscription,
    url: String,
    target: Arc<Target>,
}

const NODE: &str = "driver-1";

async fn setup() -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ping", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let target = Target::new(TargetConfig::default());
    tokio::spawn(Arc::clone(&target).serve(listener, async move { stop.cancelled().await }));

    let inner = Arc::new(InProcess::new());
    let stalling = Arc::new(Stalling {
        inner: Arc::clone(&inner),
        open: watch::Sender::new(true),
        held_heartbeats: AtomicU64::new(0),
    });
    let metrics = inner.subscribe(Topic::Metrics).await.unwrap();
    let heartbeats = inner.subscribe(Topic::Heartbeat).await.unwrap();

    let orchestrator = CancellationToken::new();
    tokio::spawn({
        let inner = Arc::clone(&inner);
        let alive = orchestrator.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            while alive.run_until_cancelled(every.tick()).await.is_some() {
                let beat =
                    Heartbeat::new("orchestrator", Role::Orchestrator, HeartbeatState::idle());
                inner
                    .publish(Topic::Heartbeat, "orchestrator", Bytes::from(encode(&beat)))
                    .await
                    .unwrap();
            }
        }
    });

    let mut config = DriverConfig::new(NODE, "in-process");
    config.heartbeat_every = Duration::from_millis(100);
    config.metrics_every = Duration::from_millis(100);
    config.orchestrator_timeout = Duration::from_secs(1);
    config.engine_threads = Some(1);
    let stats = Arc::new(DriverStats::default());
    let driver = tokio::spawn(onslaught_driver::run(
        config,
        Arc::clone(&stalling) as Arc<dyn Transport>,
        Arc::clone(&stats),
        shutdown.clone(),
    ));
    Setup {
        inner,
        stalling,
        stats,
        shutdown,
        driver,
        orchestrator,
        metrics,
        heartbeats,
        url,
        target,
    }
}

impl Setup {
    /// The driver's next heartbeat satisfying `wanted`, failing after 5 s.
    async fn driver_heartbeat(&mut self, wanted: impl Fn(&Heartbeat) -> bool) -> Heartbeat {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let payload = tokio::time::timeout_at(deadline, self.heartbeats.recv())
                .await
                .expect("no such driver heartbeat within 5 s")
                .unwrap();
            let beat: Heartbeat = decode(&payload).unwrap();
            if beat.node_id == NODE && wanted(&beat) {
                return beat;
            }
        }
    }

    /// The next metrics message, failing after `within`.
    async fn next_metrics(&mut self, within: Duration) -> Metrics {
        let payload = tokio::time::timeout(within, self.metrics.recv())
            .await
            .expect("no metrics message in time")
            .unwrap();
        decode(&payload).unwrap()
    }

    /// Configures and starts a 30 s, 50 requests/s test, and waits for its first metrics.
    async fn start_test(&mut self, test_id: &str) -> Vec<Metrics> {
        self.driver_heartbeat(|_| true).await;
        let mut request = TestRequest::new("tsunami", &self.url);
        request.rate = Some(50.0);
        request.requests_per_driver = Some(1500);
        request.duration_ms = Some(30_000);
        request.concurrency = 2;
        request.timeout_ms = 1000;
        let plan = TestPlan::try_from(request).unwrap();
        let config = TestConfig::new(test_id, plan, vec![NODE.to_owned()]);
        self.orchestrate(Topic::TestConfig, encode(&config)).await;
        self.driver_heartbeat(|b| b.state.state == NodeState::Configured)
            .await;
        self.trigger(test_id, TriggerAction::Start).await;
        let first = self.next_metrics(Duration::from_secs(5)).await;
        let second = self.next_metrics(Duration::from_secs(5)).await;
        vec![first, second]
    }

    async fn trigger(&self, test_id: &str, action: TriggerAction) {
        let trigger = Trigger {
            protocol_version: PROTOCOL_VERSION,
            test_id: test_id.to_owned(),
            trigger: action,
            start_at_ms: 0,
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
        self.orchestrate(Topic::Trigger, encode(&trigger)).await;
    }

    async fn orchestrate(&self, topic: Topic, payload: Vec<u8>) {
        self.inner
            .publish(topic, "orchestrator", Bytes::from(payload))
            .await
            .unwrap();
    }

    /// Shuts the gate: every publish of the driver waits from now on.
    fn stall(&self) {
        self.stalling.open.send_replace(false);
    }

    fn recover(&self) {
        self.stalling.open.send_replace(true);
    }

    /// Metrics messages until the final one (which must come within `within`).
    async fn metrics_until_final(&mut self, within: Duration) -> Vec<Metrics> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self.next_metrics(left).await;
            let last = m.is_final;
            got.push(m);
            if last {
                return got;
            }
        }
    }
}

/// Every message of the test, numbered 1, 2, ... in order, the final one last and only there.
fn assert_complete_in_order(all: &[Metrics]) {
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(seqs, expected, "metrics lost or out of order");
    assert!(all.last().unwrap().is_final);
    assert!(all[..all.len() - 1].iter().all(|m| !m.is_final));
    // The intervals tile the run: each starts where the previous ended.
    for pair in all.windows(2) {
        assert_eq!(pair[1].interval_start_ms, pair[0].interval_end_ms);
    }
}

/// Polls `done` every 20 ms for up to `within`; returns how long it took.
async fn wait_until(within: Duration, done: impl Fn() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if done() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_stops_a_test_on_time_while_publishing_stalls_and_no_metrics_are_lost() {
    let mut s = setup().await;
    let mut all = s.start_test("stalled-watchdog").await;

    // The broker stops taking messages and the orchestrator goes silent.
    s.stall();
    s.orchestrator.cancel();
    let stopped_after = wait_until(Duration::from_secs(5), || {
        s.stats.orphaned_tests.load(Ordering::Relaxed) == 1
    })
    .await
    .expect("the watchdog did not stop the test while publishing stalled");
    // Timeout 1 s, checked every 250 ms; the stalled broker must not add to it.
    assert!(
        stopped_after < Duration::from_millis(2000),
        "stopped after {stopped_after:?}"
    );
    // Still stalled: nothing more reached the broker.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), s.metrics.recv())
            .await
            .is_err()
    );

    s.recover();
    all.extend(s.metrics_until_final(Duration::from_secs(10)).await);
    assert_complete_in_order(&all);
    let last = all.last().unwrap();
    assert!(
        last.stopped
            .as_deref()
            .is_some_and(|r| r.contains("no orchestrator heartbeat")),
        "{:?}",
        last.stopped
    );
    s.driver_heartbeat(|b| b.state.state == NodeState::Finished)
        .await;
    assert_eq!(s.stats.metrics_abandoned.load(Ordering::Relaxed), 0);

    s.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(8), s.driver)
        .await
        .expect("the driver did not stop")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_trigger_is_handled_while_publishing_stalls() {
    let mut s = setup().await;
    let mut all = s.start_test("stalled-stop").await;
    s.stall();
    // A heartbeat publish is held at the gate before the stop is sent.
    wait_until(Duration::from_secs(2), || {
        s.stalling.held_heartbeats.load(Ordering::Relaxed) > 0
    })
    .await
    .expect("no heartbeat publish was held");
    let stop_sent = Instant::now();
    s.trigger("stalled-stop", TriggerAction::Stop).await;
    s.recover_after_stop(stop_sent).await;
    all.extend(s.metrics_until_final(Duration::from_secs(10)).await);
    assert_complete_in_order(&all);
    assert_eq!(
        all.last().unwrap().stopped.as_deref(),
        Some("stopped by the orchestrator")
    );
    s.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(8), s.driver)
        .await
        .expect("the driver did not stop")
        .unwrap()
        .unwrap();
}

impl Setup {
    /// Waits (stalled) until the load stops, proof the stop was handled, then recovers.
    async fn recover_after_stop(&self, stop_sent: Instant) {
        let requests = || self.target.metrics().routes.ping.requests_received;
        // The target's request count stops growing once the engine is stopped.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = requests();
        loop {
            assert!(
                Instant::now() < deadline,
                "the load did not stop while publishing stalled"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = requests();
            if now == last {
                break;
            }
            last = now;
        }
        assert!(stop_sent.elapsed() < Duration::from_secs(3));
        self.recover();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_stalled_broker_ends_within_the_drain_bound() {
    let mut s = setup().await;
    s.start_test("stalled-shutdown").await;
    s.stall();
    let started = Instant::now();
    s.shutdown.cancel();
    tokio::time::timeout(
        onslaught_driver::node::SHUTDOWN_DRAIN + Duration::from_secs(3),
        &mut s.driver,
    )
    .await
    .expect("the driver's shutdown hung on a stalled broker")
    .unwrap()
    .unwrap();
    let took = started.elapsed();
    assert!(
        took >= onslaught_driver::node::SHUTDOWN_DRAIN - Duration::from_millis(100),
        "{took:?}"
    );
    // The final message, at least, never went out; it is counted, not silently lost.
    assert!(s.stats.metrics_abandoned.load(Ordering::Relaxed) >= 1);
}
