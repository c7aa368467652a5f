//! Leader election over a real Apache Kafka broker (started by `scripts/kafka-broker.sh`; needs
//! Java 17, and Maven once to fetch the jars): one candidate leads, another stands by knowing
//! the lease; when the leader leaves, the standby leads with the next epoch; a third candidate
//! joining never deposes the leader.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

mod support;

use std::time::Duration;

use onslaught_kafka::{KafkaConfig, KafkaTransport};
use onslaught_transport::{Candidate, Election, Lease, Standing, Transport};
use support::Broker;
use tokio::sync::watch;

fn candidate(name: &str) -> Candidate {
    Candidate {
        cluster: "test".into(),
        node_id: name.into(),
        api_url: format!("http://{name}:8080"),
    }
}

/// Waits up to `within` for a standing that `accept` takes.
async fn until<T>(
    standing: &mut watch::Receiver<Standing>,
    within: Duration,
    accept: impl Fn(&Standing) -> Option<T>,
) -> T {
    tokio::time::timeout(within, async {
        loop {
            if let Some(found) = accept(&standing.borrow_and_update()) {
                return found;
            }
            standing.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not reached within {within:?}: {:?}", *standing.borrow()))
}

fn leads(standing: &Standing) -> Option<Lease> {
    match standing {
        Standing::Leader(lease) => Some(lease.clone()),
        _ => None,
    }
}

/// Drops an election off the async workers (leaving the group blocks a moment).
async fn leave(election: Election) {
    tokio::task::spawn_blocking(move || drop(election))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_with_the_next_epoch_and_a_joining_candidate_deposes_nobody() {
    support::init_tracing();
    let mut config = KafkaConfig::new(Broker::shared().bootstrap.clone());
    config.topic_prefix = format!("e{}.", uuid::Uuid::new_v4().simple());
    config.connect_timeout = Duration::from_secs(20);
    let transport = KafkaTransport::connect(config).await.unwrap();

    let first = transport.elect(candidate("a")).await.unwrap();
    let mut a = first.standing();
    let lease_a = until(&mut a, Duration::from_secs(20), leads).await;
    assert_eq!((lease_a.epoch, lease_a.node_id.as_str()), (1, "a"));

    let second = transport.elect(candidate("b")).await.unwrap();
    let mut b = second.standing();
    let known = until(&mut b, Duration::from_secs(20), |s| match s {
        Standing::Standby { leader: Some(l) } => Some(l.clone()),
        _ => None,
    })
    .await;
    assert_eq!(known, lease_a, "the standby knows whom to redirect to");
    let third = transport.elect(candidate("c")).await.unwrap();
    let mut c = third.standing();
    until(&mut c, Duration::from_secs(20), |s| {
        matches!(s, Standing::Standby { leader: Some(_) }).then_some(())
    })
    .await;
    // Candidates joining rebalanced the group; the leader kept its partition.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(*a.borrow(), Standing::Leader(lease_a.clone()));

    // The leader leaves: one of the others leads with epoch 2, at once (no session timeout).
    leave(first).await;
    let next = tokio::select! {
        lease = until(&mut b, Duration::from_secs(15), leads) => lease,
        lease = until(&mut c, Duration::from_secs(15), leads) => lease,
    };
    assert_eq!(next.epoch, 2);
    assert!(matches!(next.node_id.as_str(), "b" | "c"));
    leave(second).await;
    leave(third).await;
}
