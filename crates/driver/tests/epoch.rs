//! Epoch fencing on a real driver (in-process transport): once it has heard an orchestrator
//! with epoch N, configs, triggers and heartbeats stamped lower are refused and counted
//! (`stale_epoch`); with a secret, only a signed heartbeat raises the epoch.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use onslaught_driver::{DriverConfig, DriverStats};
use onslaught_plan::{TestPlan, TestRequest};
use onslaught_protocol::{
    Heartbeat, HeartbeatState, Message, NodeState, Role, Signer, TestConfig, Topic, decode, encode,
};
use onslaught_transport::{InProcess, Subscription, Transport};
use tokio_util::sync::CancellationToken;

const NODE: &str = "driver-1";

struct Driver {
    transport: Arc<InProcess>,
    /// The driver's heartbeats (and the fake orchestrator's).
    heartbeats: Subscription,
    stats: Arc<DriverStats>,
    shutdown: CancellationToken,
}

impl Driver {
    async fn start(secret: Option<&str>) -> Self {
        let transport = Arc::new(InProcess::new());
        let mut heartbeats = transport.subscribe(Topic::Heartbeat).await.unwrap();
        let stats = Arc::new(DriverStats::default());
        let shutdown = CancellationToken::new();
        let mut config = DriverConfig::new(NODE, "in-process");
        config.heartbeat_every = Duration::from_millis(100);
        config.secret = secret.map(Signer::new);
        tokio::spawn(onslaught_driver::run(
            config,
            Arc::clone(&transport) as Arc<dyn Transport>,
            Arc::clone(&stats),
            shutdown.clone(),
        ));
        tokio::time::timeout(Duration::from_secs(5), heartbeats.recv())
            .await
            .expect("no heartbeat from the driver within 5 s")
            .unwrap();
        Self {
            transport,
            heartbeats,
            stats,
            shutdown,
        }
    }

    async fn publish<M: Message>(&self, message: &M) {
        self.transport
            .publish(M::TOPIC, "o", Bytes::from(encode(message)))
            .await
            .unwrap();
    }

    async fn orchestrator_heartbeat(&self, epoch: Option<u64>, signer: Option<&Signer>) {
        let mut beat = Heartbeat::new("orchestrator", Role::Orchestrator, HeartbeatState::idle());
        beat.epoch = epoch;
        if let Some(signer) = signer {
            signer.sign(&mut beat);
        }
        self.publish(&beat).await;
    }

    async fn config(&self, test_id: &str, epoch: Option<u64>, signer: Option<&Signer>) {
        let mut request = TestRequest::new("tsunami", "http://127.0.0.1:1/");
        request.rate = Some(10.0);
        request.duration_ms = Some(1_000);
        let mut config = TestConfig::new(
            test_id,
            TestPlan::try_from(request).unwrap(),
            vec![NODE.to_owned()],
        );
        config.epoch = epoch;
        if let Some(signer) = signer {
            signer.sign(&mut config);
        }
        self.publish(&config).await;
    }

    /// Whether the driver reports `test_id` configured within `within`.
    async fn configured(&mut self, test_id: &str, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(payload)) =
            tokio::time::timeout_at(deadline, self.heartbeats.recv()).await
        {
            let beat: Heartbeat = decode(&payload).unwrap();
            if beat.node_id == NODE
                && beat.state.state == NodeState::Configured
                && beat.state.test_id.as_deref() == Some(test_id)
            {
                return true;
            }
        }
        false
    }

    /// Waits until the driver's heartbeats say it obeys leadership `epoch`: a heartbeat and a
    /// config travel on different topics, so without this a config could overtake the
    /// heartbeat that should fence it.
    async fn obeys_epoch(&mut self, epoch: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Ok(Some(payload)) =
            tokio::time::timeout_at(deadline, self.heartbeats.recv()).await
        {
            let beat: Heartbeat = decode(&payload).unwrap();
            if beat.node_id == NODE && beat.info.get("leader_epoch") == Some(&epoch) {
                return;
            }
        }
        panic!("the driver did not report leader epoch {epoch} within 5 s");
    }

    fn stale(&self) -> u64 {
        self.stats.stale_epoch.load(Ordering::Relaxed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_orchestrators_config_and_heartbeats_are_refused_and_counted() {
    let mut driver = Driver::start(None).await;
    // An unstamped orchestrator (not elected) is obeyed while no epoch was heard.
    driver.config("t-unstamped", None, None).await;
    assert!(
        driver
            .configured("t-unstamped", Duration::from_secs(5))
            .await
    );
    assert_eq!(driver.stale(), 0);

    // The orchestrator of epoch 2 speaks; then the deposed one of epoch 1.
    driver.orchestrator_heartbeat(Some(2), None).await;
    driver.obeys_epoch(2).await;
    driver.config("t-stale", Some(1), None).await;
    assert!(
        !driver
            .configured("t-stale", Duration::from_millis(800))
            .await,
        "a config of epoch 1 was obeyed after epoch 2"
    );
    assert_eq!(driver.stale(), 1);
    driver.orchestrator_heartbeat(Some(1), None).await;
    driver.config("t-unstamped-2", None, None).await;
    assert!(
        !driver
            .configured("t-unstamped-2", Duration::from_millis(800))
            .await
    );
    assert_eq!(
        driver.stale(),
        3,
        "the stale heartbeat and the unstamped config are counted"
    );

    // The current leader is obeyed, and a newer one takes over.
    driver.config("t-current", Some(2), None).await;
    assert!(driver.configured("t-current", Duration::from_secs(5)).await);
    driver.config("t-newer", Some(3), None).await;
    assert!(driver.configured("t-newer", Duration::from_secs(5)).await);
    driver.obeys_epoch(3).await;
    driver.config("t-old", Some(2), None).await;
    assert!(!driver.configured("t-old", Duration::from_millis(800)).await);
    assert_eq!(driver.stale(), 4);
    driver.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_only_a_signed_heartbeat_raises_the_epoch() {
    let signer = Signer::new("s3cret");
    let mut driver = Driver::start(Some("s3cret")).await;
    // A forged (unsigned) heartbeat claiming epoch 9 must not lock out the real orchestrator.
    driver.orchestrator_heartbeat(Some(9), None).await;
    driver.config("t-real", Some(1), Some(&signer)).await;
    assert!(driver.configured("t-real", Duration::from_secs(5)).await);
    assert_eq!(driver.stale(), 0);
    // A signed heartbeat of epoch 4 does raise it: a signed config of epoch 3 is then stale.
    driver.orchestrator_heartbeat(Some(4), Some(&signer)).await;
    driver.obeys_epoch(4).await;
    driver.config("t-deposed", Some(3), Some(&signer)).await;
    assert!(
        !driver
            .configured("t-deposed", Duration::from_millis(800))
            .await
    );
    assert_eq!(driver.stale(), 1);
    driver.shutdown.cancel();
}
