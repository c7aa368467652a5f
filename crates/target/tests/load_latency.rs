//! Latency that grows with load (`latency_per_in_flight`), for capacity-search tests: under an
//! open load of λ requests per second, a fixed base latency `b` and `k` per request in flight,
//! Little's law (in flight = λ × latency) gives a steady latency of `b / (1 − k λ)`. Measured
//! here at two rates over loopback.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use hyper::StatusCode;
use onslaught_target::{Latency, TargetConfig};
use support::Server;
use tokio::time::Instant;

const BASE: Duration = Duration::from_millis(20);
const PER_IN_FLIGHT: Duration = Duration::from_millis(2);
/// Connections the open load is spread over, each far from busy at these rates.
const CONNECTIONS: usize = 32;
/// How long each rate is held; latencies of the second half are the steady state.
const HOLD: Duration = Duration::from_millis(1200);

/// The steady latency the crate documents: `b / (1 − k λ)`.
fn expected(rate: f64) -> Duration {
    BASE.div_f64(1.0 - PER_IN_FLIGHT.as_secs_f64() * rate)
}

/// Sends `rate` requests per second on an absolute schedule for [`HOLD`] and returns the
/// median latency, from each request's intended send time, of the second half.
async fn median_latency_at(rate: f64) -> Duration {
    let config = TargetConfig {
        latency: Some(Latency::Fixed(BASE)),
        latency_per_in_flight: PER_IN_FLIGHT,
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let total = (HOLD.as_secs_f64() * rate) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now() + Duration::from_millis(50);
    let mut senders = tokio::task::JoinSet::new();
    for first in 0..CONNECTIONS {
        let mut client = server.connect().await;
        senders.spawn(async move {
            let mut latencies = Vec::new();
            for i in (first..total).step_by(CONNECTIONS) {
                let intended = start + interval * u32::try_from(i).unwrap();
                tokio::time::sleep_until(intended).await;
                assert_eq!(client.get("/ping").await.status, StatusCode::OK);
                latencies.push((i, intended.elapsed()));
            }
            latencies
        });
    }
    let mut steady = Vec::new();
    while let Some(latencies) = senders.join_next().await {
        steady.extend(
            latencies
                .unwrap()
                .into_iter()
                .filter(|(i, _)| *i >= total / 2)
                .map(|(_, latency)| latency),
        );
    }
    steady.sort();
    steady[steady.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_follows_the_documented_formula_at_two_rates() {
    for rate in [100.0, 250.0] {
        let expected = expected(rate);
        let measured = median_latency_at(rate).await;
        eprintln!("at {rate}/s: median {measured:?}, formula {expected:?}");
        // Requests arrive one by one, so in flight is an integer below λ × latency (up to `k`
        // less), and timers and the client add a little: a band of -15% / +25%.
        assert!(
            measured >= expected.mul_f64(0.85) && measured <= expected.mul_f64(1.25),
            "at {rate}/s: measured {measured:?}, formula {expected:?}"
        );
    }
    assert_eq!(expected(100.0), Duration::from_millis(25));
    assert_eq!(expected(250.0), Duration::from_millis(40));
}

#[tokio::test]
async fn without_load_only_the_base_latency_is_added() {
    let config = TargetConfig {
        latency: Some(Latency::Fixed(BASE)),
        latency_per_in_flight: PER_IN_FLIGHT,
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let mut client = server.connect().await;
    for _ in 0..3 {
        let sent = Instant::now();
        assert_eq!(client.get("/ping").await.status, StatusCode::OK);
        let took = sent.elapsed();
        assert!(
            took >= BASE && took < BASE + Duration::from_millis(15),
            "{took:?}"
        );
    }
    // /metrics is not counted in flight and not delayed.
    let sent = Instant::now();
    assert_eq!(client.get("/metrics").await.status, StatusCode::OK);
    assert!(sent.elapsed() < BASE);
}

/// A closed load of `N` users without think time keeps the other `N − 1` in flight: every
/// request after the first round takes `b + k (N − 1)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_load_of_n_users_waits_for_the_other_n_minus_one() {
    const USERS: u32 = 5;
    let config = TargetConfig {
        latency: Some(Latency::Fixed(BASE)),
        latency_per_in_flight: PER_IN_FLIGHT,
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let mut users = tokio::task::JoinSet::new();
    for _ in 0..USERS {
        let mut client = server.connect().await;
        users.spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..8 {
                let sent = Instant::now();
                assert_eq!(client.get("/ping").await.status, StatusCode::OK);
                latencies.push(sent.elapsed());
            }
            latencies
        });
    }
    let mut steady = Vec::new();
    while let Some(latencies) = users.join_next().await {
        steady.extend(latencies.unwrap().into_iter().skip(2));
    }
    steady.sort();
    let median = steady[steady.len() / 2];
    let expected = BASE + PER_IN_FLIGHT * (USERS - 1);
    assert!(
        median >= expected && median <= expected.mul_f64(1.15),
        "median {median:?}, formula {expected:?}"
    );
}
