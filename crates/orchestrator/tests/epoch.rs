//! An elected orchestrator's epoch: stamped on its heartbeats and control messages; a heartbeat
//! of another orchestrator with a higher epoch deposes it (nothing more published), a lower or
//! equal one does not.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use onslaught_orchestrator::{Orchestrator, OrchestratorConfig, TestPlan, TestRequest};
use onslaught_protocol::{Heartbeat, HeartbeatState, Role, TestConfig, Topic, decode, encode};
use onslaught_transport::{InProcess, Subscription, Transport};
use tokio_util::sync::CancellationToken;

struct Setup {
    orchestrator: Orchestrator,
    transport: Arc<InProcess>,
    heartbeats: Subscription,
    shutdown: CancellationToken,
    _reports: tempfile::TempDir,
}

async fn elected(epoch: u64) -> Setup {
    let reports = tempfile::tempdir().unwrap();
    let transport = Arc::new(InProcess::new());
    let heartbeats = transport.subscribe(Topic::Heartbeat).await.unwrap();
    let mut config = OrchestratorConfig::new(reports.path());
    config.node_id = "orchestrator-a".into();
    config.epoch = Some(epoch);
    config.heartbeat_every = Duration::from_millis(50);
    let orchestrator = Orchestrator::new(config, Arc::clone(&transport) as Arc<dyn Transport>);
    let shutdown = CancellationToken::new();
    orchestrator.spawn(shutdown.clone()).await.unwrap();
    Setup {
        orchestrator,
        transport,
        heartbeats,
        shutdown,
        _reports: reports,
    }
}

impl Setup {
    async fn other_orchestrator(&self, epoch: u64) {
        let mut beat = Heartbeat::new("orchestrator-b", Role::Orchestrator, HeartbeatState::idle());
        beat.epoch = Some(epoch);
        self.transport
            .publish(
                Topic::Heartbeat,
                "orchestrator-b",
                Bytes::from(encode(&beat)),
            )
            .await
            .unwrap();
    }

    /// The next heartbeat of orchestrator-a within `within`, if any.
    async fn own_heartbeat(&mut self, within: Duration) -> Option<Heartbeat> {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(payload)) =
            tokio::time::timeout_at(deadline, self.heartbeats.recv()).await
        {
            let beat: Heartbeat = decode(&payload).unwrap();
            if beat.node_id == "orchestrator-a" {
                return Some(beat);
            }
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_carry_the_epoch_and_a_higher_one_deposes() {
    let mut setup = elected(3).await;
    let beat = setup
        .own_heartbeat(Duration::from_secs(2))
        .await
        .expect("a heartbeat");
    assert_eq!(beat.epoch, Some(3));

    // Another orchestrator of an older or the same epoch changes nothing.
    setup.other_orchestrator(2).await;
    setup.other_orchestrator(3).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), setup.orchestrator.deposed())
            .await
            .is_err()
    );
    assert!(!setup.orchestrator.is_deposed());

    setup.other_orchestrator(4).await;
    tokio::time::timeout(Duration::from_secs(2), setup.orchestrator.deposed())
        .await
        .expect("a heartbeat of epoch 4 deposes the orchestrator of epoch 3");
    // Its heartbeats stop: drain what was queued before, then nothing more.
    while setup
        .own_heartbeat(Duration::from_millis(200))
        .await
        .is_some()
    {}
    assert!(
        setup
            .own_heartbeat(Duration::from_millis(500))
            .await
            .is_none(),
        "a deposed orchestrator still heartbeats"
    );
    setup.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_messages_carry_the_epoch_and_a_deposed_orchestrator_sends_none() {
    let setup = elected(7).await;
    let mut configs = setup.transport.subscribe(Topic::TestConfig).await.unwrap();
    // A fake driver, alive and idle, so that a start publishes the config.
    let driver = Heartbeat::new("d1", Role::Driver, HeartbeatState::idle());
    let register = onslaught_protocol::Register::new("d1", "in-process");
    for (topic, payload) in [
        (Topic::Register, encode(&register)),
        (Topic::Heartbeat, encode(&driver)),
    ] {
        setup
            .transport
            .publish(topic, "d1", Bytes::from(payload))
            .await
            .unwrap();
    }
    let plan = || {
        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
        request.requests_per_driver = Some(1);
        request.drivers = Some(1);
        TestPlan::try_from(request).unwrap()
    };
    assert_eq!(
        setup
            .orchestrator
            .wait_for_drivers(1, Duration::from_secs(2))
            .await,
        1
    );
    let first = setup.orchestrator.record_test(plan()).unwrap();
    let starting = {
        let orchestrator = setup.orchestrator.clone();
        let id = first.id.clone();
        // It waits for an acknowledgement that never comes: only the config matters here.
        tokio::spawn(async move { orchestrator.start_test(&id).await })
    };
    let payload = tokio::time::timeout(Duration::from_secs(2), configs.recv())
        .await
        .expect("a test_config")
        .unwrap();
    let config: TestConfig = decode(&payload).unwrap();
    assert_eq!(
        (config.test_id.as_str(), config.epoch),
        (first.id.as_str(), Some(7))
    );
    let _ = tokio::time::timeout(Duration::from_secs(10), starting).await;

    setup.orchestrator.depose("a test says so");
    let second = setup.orchestrator.record_test(plan()).unwrap();
    assert!(setup.orchestrator.start_test(&second.id).await.is_err());
    assert!(
        tokio::time::timeout(Duration::from_millis(500), configs.recv())
            .await
            .is_err(),
        "a deposed orchestrator published a config"
    );
    setup.shutdown.cancel();
}
