//! The target allowlist through the driver's loop: a host name is resolved off the loop and the
//! answer decides; a refused config is acknowledged `rejected` with the reason, an allowed one
//! `configured`.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use onslaught_driver::allow::TargetPattern;
use onslaught_driver::{DriverConfig, DriverStats};
use onslaught_plan::{TestPlan, TestRequest};
use onslaught_protocol::{Heartbeat, NodeState, TestConfig, Topic, decode, encode};
use onslaught_transport::{InProcess, Subscription, Transport};
use tokio_util::sync::CancellationToken;

const NODE: &str = "driver-1";

fn config(test_id: &str, url: &str) -> TestConfig {
    let mut request = TestRequest::new("avalanche", url);
    request.requests_per_driver = Some(1);
    request.concurrency = 1;
    request.timeout_ms = 1000;
    TestConfig::new(
        test_id,
        TestPlan::try_from(request).unwrap(),
        vec![NODE.to_owned()],
    )
}

/// The driver's next heartbeat about `test_id`, failing after 5 s.
async fn heartbeat_about(heartbeats: &mut Subscription, test_id: &str) -> Heartbeat {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let payload = tokio::time::timeout_at(deadline, heartbeats.recv())
            .await
            .expect("no heartbeat about the test within 5 s")
            .unwrap();
        let beat: Heartbeat = decode(&payload).unwrap();
        if beat.node_id == NODE && beat.state.test_id.as_deref() == Some(test_id) {
            return beat;
        }
    }
}

#[tokio::test]
async fn host_names_are_resolved_off_the_loop_and_the_allowlist_decides() {
    let transport = Arc::new(InProcess::new());
    let mut heartbeats = transport.subscribe(Topic::Heartbeat).await.unwrap();
    let shutdown = CancellationToken::new();
    let mut driver = DriverConfig::new(NODE, "in-process");
    driver.heartbeat_every = Duration::from_millis(100);
    driver.allow_targets = vec![TargetPattern::parse("127.0.0.0/8").unwrap()];
    tokio::spawn(onslaught_driver::run(
        driver,
        Arc::clone(&transport) as Arc<dyn Transport>,
        Arc::new(DriverStats::default()),
        shutdown.clone(),
    ));
    // The driver subscribes before its first heartbeat: configs sent after it arrive.
    tokio::time::timeout(Duration::from_secs(5), heartbeats.recv())
        .await
        .expect("no heartbeat from the driver within 5 s")
        .unwrap();
    let send = |config: TestConfig| {
        let transport = Arc::clone(&transport);
        async move {
            transport
                .publish(Topic::TestConfig, "o", Bytes::from(encode(&config)))
                .await
                .unwrap();
        }
    };

    // Outside the list: refused, with the reason.
    send(config("refused", "http://10.1.2.3:1/")).await;
    let beat = heartbeat_about(&mut heartbeats, "refused").await;
    assert_eq!(beat.state.state, NodeState::Rejected);
    assert!(
        beat.state
            .reason
            .as_deref()
            .unwrap()
            .contains("not in this driver's --allow-target list"),
        "{:?}",
        beat.state.reason
    );

    // An address in the list: configured.
    send(config("allowed", "http://127.0.0.1:1/")).await;
    let beat = heartbeat_about(&mut heartbeats, "allowed").await;
    assert_eq!(beat.state.state, NodeState::Configured, "{beat:?}");

    // A host name resolved (into the allowed range) off the loop: configured.
    send(config("by-name", "http://localhost:1/")).await;
    let beat = heartbeat_about(&mut heartbeats, "by-name").await;
    let local_v4_only = tokio::net::lookup_host(("localhost", 1))
        .await
        .unwrap()
        .all(|a| a.ip().is_ipv4());
    if local_v4_only {
        assert_eq!(beat.state.state, NodeState::Configured, "{beat:?}");
    } else {
        // `localhost` also resolves to ::1, outside 127.0.0.0/8: every address must be allowed.
        assert_eq!(beat.state.state, NodeState::Rejected, "{beat:?}");
    }
    shutdown.cancel();
}
