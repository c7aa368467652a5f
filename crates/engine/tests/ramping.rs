//! Ramping virtual users against the built-in target: the users running follow the curve.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::time::Duration;

use onslaught_engine::{Curve, Mode, Users};
use onslaught_target::{Latency, TargetConfig};
use tokio_util::sync::CancellationToken;

mod support;
use support::{exclusive, serve, spec};

/// The curve's users at `t` s: 0 -> 10 over 2 s, 10 for 1 s, 10 -> 0 over 1 s.
fn curve_at(t: f64) -> f64 {
    if t < 2.0 {
        5.0 * t
    } else if t < 3.0 {
        10.0
    } else {
        (10.0 - 10.0 * (t - 3.0)).max(0.0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_users_follow_the_curve_and_the_run_ends_with_it() {
    let _exclusive = exclusive().await;
    // 5 ms a request: a stopping user finishes what it has in flight, soon.
    let (target, base) = serve(TargetConfig {
        latency: Some(Latency::Fixed(Duration::from_millis(5))),
        ..TargetConfig::default()
    })
    .await;
    let curve = Curve::new(&[
        (Duration::from_secs(2), 10.0),
        (Duration::from_secs(1), 10.0),
        (Duration::from_secs(1), 0.0),
    ])
    .unwrap();
    let mut s = spec(
        &format!("{base}/ping"),
        Mode::Ramping(Users::new(curve)),
        None,
        10,
    );
    s.duration = Some(Duration::from_secs(4));
    s.threads = Some(2);
    let handle = onslaught_engine::start(s, CancellationToken::new())
        .await
        .unwrap();
    let started = handle.started;
    let recorder = Arc::clone(&handle.recorder);
    let mut samples = Vec::new();
    let mut user_ms = 0;
    for k in 1..16u32 {
        tokio::time::sleep_until((started + Duration::from_millis(250) * k).into()).await;
        let t = started.elapsed().as_secs_f64();
        samples.push((t, handle.running_users().unwrap()));
        user_ms += recorder.take().counters.user_ms;
    }
    let finished = tokio::time::timeout(Duration::from_secs(5), handle.finished())
        .await
        .unwrap();
    user_ms += recorder.take().counters.user_ms;
    // floor(curve(t)) users run; one may be a timer tick late to start (a sample just past a
    // whole number: CI saw 4 at 1.0006 s, where the curve is 5.003) or still finishing its
    // request as the curve falls.
    for (t, running) in &samples {
        let want = curve_at(*t).floor();
        assert!(
            (*running as f64 - want).abs() <= 1.0,
            "at {t:.3} s: {running} users running, the curve says {:.2}; {samples:?}",
            curve_at(*t)
        );
    }
    // The run ends with the curve, not at a timeout.
    assert!(
        finished < Duration::from_millis(4_500),
        "ended after {finished:?}"
    );
    // Users ran the area under the curve rounded down to whole users: 9 user-seconds up, 10
    // held, 4.5 down.
    assert!(
        (22_500..=24_000).contains(&user_ms),
        "{user_ms} user-ms, the whole users' area is 23,500"
    );
    let served = target.metrics().routes.ping.requests_received;
    assert!(served > 1_000, "only {served} requests");
}

/// Users in total taken over: this node had every second user of the curve's 6 (3 running);
/// from 1.5 s on it has them all (6 running: 3 new users started on its threads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_widens_the_stripe_of_users_from_its_instant() {
    let _exclusive = exclusive().await;
    let (_target, base) = serve(TargetConfig {
        latency: Some(Latency::Fixed(Duration::from_millis(5))),
        ..TargetConfig::default()
    })
    .await;
    let curve = Curve::new(&[
        (Duration::from_millis(200), 6.0),
        (Duration::from_secs(3), 6.0),
    ])
    .unwrap();
    let users = Users::new(curve).striped(onslaught_engine::Stripe::new(0, 2).unwrap());
    let mut s = spec(&format!("{base}/ping"), Mode::Ramping(users), None, 3);
    s.duration = Some(Duration::from_millis(3_200));
    s.threads = Some(2);
    let handle = onslaught_engine::start(s, CancellationToken::new())
        .await
        .unwrap();
    let started = handle.started;
    handle
        .ramp_control()
        .unwrap()
        .restripe(
            Duration::from_millis(1_500),
            onslaught_engine::Stripe::WHOLE,
        )
        .unwrap();
    tokio::time::sleep_until((started + Duration::from_secs(1)).into()).await;
    let before = handle.running_users().unwrap();
    tokio::time::sleep_until((started + Duration::from_millis(2_500)).into()).await;
    let after = handle.running_users().unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(5), handle.finished())
        .await
        .unwrap();
    assert_eq!((before, after), (3, 6));
    assert!(
        finished < Duration::from_millis(3_700),
        "ended after {finished:?}"
    );
}
