//! An avalanche's users changed while it runs, against the built-in target: from the stated
//! offset on, the users running (and so, at a fixed latency, the requests a second) follow.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::time::Duration;

use onslaught_engine::Mode;
use onslaught_target::{Latency, TargetConfig};
use tokio_util::sync::CancellationToken;

mod support;
use support::{exclusive, serve, spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_raised_and_lowered_mid_run_set_the_requests_a_second() {
    let _exclusive = exclusive().await;
    // 20 ms a request: a user sends about 50 a second, whatever the machine.
    let (_target, base) = serve(TargetConfig {
        latency: Some(Latency::Fixed(Duration::from_millis(20))),
        ..TargetConfig::default()
    })
    .await;
    let mut s = spec(&format!("{base}/ping"), Mode::Avalanche, None, 2);
    s.duration = Some(Duration::from_secs(3));
    s.threads = Some(2);
    let handle = onslaught_engine::start(s, CancellationToken::new())
        .await
        .unwrap();
    let started = handle.started;
    let control = handle.users_control().unwrap();
    // 2 users, then 8 from 1 s (6 of them new), then 1 from 2 s.
    control.change(Duration::from_secs(1), 8).unwrap();
    control.change(Duration::from_secs(2), 1).unwrap();
    let recorder = Arc::clone(&handle.recorder);
    let mut seconds = Vec::new();
    let mut running = Vec::new();
    for k in 1..=3u32 {
        tokio::time::sleep_until((started + Duration::from_millis(500) * (2 * k - 1)).into()).await;
        running.push(handle.running_users().unwrap());
        tokio::time::sleep_until((started + Duration::from_secs(k.into())).into()).await;
        let second = recorder.take();
        seconds.push((second.counters.requests_sent, second.counters.user_ms));
    }
    let finished = tokio::time::timeout(Duration::from_secs(5), handle.finished())
        .await
        .unwrap();
    assert_eq!(running, [2, 8, 1], "users running mid-second; {seconds:?}");
    // Each user sends about 50 a second (20 ms each, plus the loop's own time).
    let per_user = |(sent, _): (u64, u64), users: u64| sent as f64 / users as f64;
    for (second, users) in seconds.iter().zip([2u64, 8, 1]) {
        let each = per_user(*second, users);
        assert!(
            (30.0..=52.0).contains(&each),
            "{users} users sent {} in a second ({each:.1} each); {seconds:?}",
            second.0
        );
    }
    // The users' time: 2, 8 and 1 user-seconds. A user stopping finishes its request first, so
    // the third second also holds what the 7 stopped users had in flight at 2 s: up to one
    // 20 ms request each, 140 ms in all.
    let user_ms: Vec<u64> = seconds.iter().map(|s| s.1).collect();
    for (got, (want, finishing)) in
        user_ms
            .iter()
            .zip([(2_000u64, 0u64), (8_000, 0), (1_000, 7 * 20)])
    {
        assert!(
            (want - 100..=want + finishing + 100).contains(got),
            "user-ms {user_ms:?}"
        );
    }
    assert!(
        finished < Duration::from_millis(3_500),
        "ended after {finished:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_bounded_in_requests_sends_them_all_and_ends_whatever_users_wait() {
    let _exclusive = exclusive().await;
    let (target, base) = serve(TargetConfig {
        latency: Some(Latency::Fixed(Duration::from_millis(2))),
        ..TargetConfig::default()
    })
    .await;
    let mut s = spec(&format!("{base}/ping"), Mode::Avalanche, Some(1_500), 4);
    s.threads = Some(2);
    let handle = onslaught_engine::start(s, CancellationToken::new())
        .await
        .unwrap();
    // Down to 1 user after 200 ms: the 3 others wait with no deadline to end them, the second
    // engine thread's among them holding permits it claimed ahead.
    handle
        .users_control()
        .unwrap()
        .change(Duration::from_millis(200), 1)
        .unwrap();
    let recorder = Arc::clone(&handle.recorder);
    let finished = tokio::time::timeout(Duration::from_secs(20), handle.finished())
        .await
        .expect("the waiting users end with the budget");
    assert!(
        finished < Duration::from_secs(15),
        "ended after {finished:?}"
    );
    let counters = recorder.take().counters;
    assert_eq!(counters.requests_sent, 1_500);
    assert_eq!(counters.responses_received, 1_500);
    assert_eq!(target.metrics().routes.ping.requests_received, 1_500);
}
