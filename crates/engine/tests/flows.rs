//! Flows against the built-in target: tokens and cookies per virtual user, per-name counts
//! equal to the target's per-route counts, sharded data used once, dropped iterations.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use onslaught_engine::{Arrivals, FlowRun, Mode};
use onslaught_flow::{Scenario, ScenarioSpec, StatusSet};
use onslaught_target::{AccountList, Accounts, TargetConfig};

fn scenario(base: &str, doc: serde_json::Value) -> Arc<Scenario> {
    let spec = ScenarioSpec {
        flows: serde_json::from_value(doc["flows"].clone()).unwrap(),
        data: serde_json::from_value(doc.get("data").cloned().unwrap_or_default())
            .unwrap_or_default(),
        defaults: None,
        max_names: 100,
    };
    let base = url::Url::parse(base).unwrap();
    Arc::new(
        Scenario::compile(
            spec,
            &base,
            &StatusSet::from_fn(|s| (200..400).contains(&s)),
        )
        .unwrap(),
    )
}

fn accounts(n: usize) -> (String, Vec<serde_json::Value>) {
    let mut csv = String::from("user,password\n");
    let mut rows = Vec::new();
    for i in 0..n {
        csv.push_str(&format!("user{i:03},pw{i}\n"));
        rows.push(serde_json::json!({"user": format!("user{i:03}"), "password": format!("pw{i}")}));
    }
    (csv, rows)
}

fn shop(rows: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "data": {"accounts": {"rows": rows, "order": "shard"}},
        "flows": [{"name": "buy", "steps": [
            {"name": "login",
             "request": {"method": "POST", "url": "/login",
                         "json": {"user": "{{ accounts.user }}", "password": "{{ accounts.password }}"}},
             "extract": {"token": {"json": "$.token"}},
             "check": {"status": 200},
             "on_failure": "stop"},
            {"name": "item",
             "request": {"url": "/items/{{ random_int(1, 5) }}",
                         "headers": {"Authorization": "Bearer {{ token }}"}},
             "check": {"status": 200, "body_contains": "\"id\""}},
            {"think": "1ms..3ms"},
            {"name": "item",
             "request": {"url": "/items/{{ vu + 1 }}",
                         "headers": {"Authorization": "Bearer {{ token }}"}}},
            {"name": "cart", "request": {"url": "/cart"}, "check": {"status": 200}}
        ]}]
    })
}

/// Two drivers' runs share 30 accounts by shard: each logs in exactly once, every /items
/// request carries its virtual user's own token, cookies are kept per virtual user, and the
/// per-name counts equal the target's per-route counts. The runs end by themselves when the
/// shares are used up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_logins_carry_each_users_token_and_cookie() {
    let (csv, rows) = accounts(30);
    let config = TargetConfig {
        accounts: Accounts::List(AccountList::from_csv(&csv).unwrap()),
        ..TargetConfig::default()
    };
    let (target, url) = support::serve(config).await;
    let scenario = scenario(&url, shop(rows));
    let mut total = onslaught_stats::Measurements::default();
    for driver in 0..2 {
        let mut spec = support::spec(&url, Mode::Avalanche, None, 4);
        spec.duration = Some(Duration::from_secs(20));
        spec.threads = Some(2);
        spec.flows = Some(FlowRun {
            scenario: Arc::clone(&scenario),
            driver,
            drivers: 2,
        });
        let (measured, elapsed) = support::run(spec).await;
        assert!(
            elapsed < Duration::from_secs(10),
            "ended by itself: {elapsed:?}"
        );
        assert_eq!(measured.flows["buy"].completed, 15);
        total.add(&measured);
    }
    let m = target.metrics();
    assert_eq!(m.sessions.logins, 30);
    assert!(
        m.sessions
            .accounts
            .values()
            .all(|a| a.logins == 1 && a.items == 2),
        "{:?}",
        m.sessions.accounts
    );
    assert_eq!(m.sessions.token_mismatch, 0);
    assert_eq!(m.sessions.items_authorized, 60);
    assert_eq!(m.routes.cart.statuses[&200], 30);
    assert_eq!(
        total.by_name["login"].counters.responses_received,
        m.routes.login.responses_sent
    );
    assert_eq!(
        total.by_name["item"].counters.responses_received,
        m.routes.items.responses_sent
    );
    assert_eq!(
        total.by_name["cart"].counters.responses_received,
        m.routes.cart.responses_sent
    );
    assert_eq!(total.counters.requests_sent, 120);
    assert_eq!(
        total.counters.checks_failed, 0,
        "{:?}",
        total.counters.failed_checks
    );
    // status + extract for login, status + body for the first item, status for the second
    // and for the cart: 6 checks an iteration.
    assert_eq!(total.counters.checks_passed, 180);
    assert_eq!(total.by_name["item"].latency.len(), 60);
}

/// A failed check is counted by name and check, and `on_failure: stop` interrupts the
/// iteration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_checks_are_counted_and_stop_the_iteration() {
    let (target, url) = support::serve(TargetConfig::default()).await;
    let scenario = scenario(
        &url,
        serde_json::json!({"flows": [{"name": "f", "steps": [
            {"name": "bad", "request": {"method": "POST", "url": "/login", "body": "nope"},
             "extract": {"token": {"json": "$.token"}}, "on_failure": "stop"},
            {"name": "never", "request": {"url": "/ping"}}
        ]}]}),
    );
    let mut spec = support::spec(&url, Mode::Avalanche, Some(10), 2);
    spec.flows = Some(FlowRun {
        scenario,
        driver: 0,
        drivers: 1,
    });
    let (m, _) = support::run(spec).await;
    assert_eq!(m.flows["f"].interrupted, 10);
    assert_eq!(m.flows["f"].completed, 0);
    assert_eq!(m.by_name["bad"].counters.failed_checks["status"], 10);
    assert_eq!(m.by_name["bad"].counters.failed_checks["extract token"], 10);
    assert!(!m.by_name.contains_key("never"));
    assert_eq!(target.metrics().routes.ping.requests_received, 0);
}

/// Open load with too few virtual users: iterations due while every one is busy are dropped
/// and counted, never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterations_that_find_no_free_user_are_dropped() {
    let (target, url) = support::serve(TargetConfig::default()).await;
    let scenario = scenario(
        &url,
        serde_json::json!({"flows": [{"name": "slow", "steps": [
            {"request": {"url": "/ping"}}, {"think": "45ms"}
        ]}]}),
    );
    let mut spec = support::spec(
        &url,
        Mode::Scheduled(Arrivals::every(Duration::from_millis(5))),
        Some(100),
        1,
    );
    spec.flows = Some(FlowRun {
        scenario,
        driver: 0,
        drivers: 1,
    });
    let (m, _) = support::run(spec).await;
    let it = &m.flows["slow"];
    assert_eq!(it.started + it.dropped, 100, "{it:?}");
    assert!(it.dropped >= 70, "{it:?}");
    assert_eq!(target.metrics().routes.ping.requests_received, it.started);
}
