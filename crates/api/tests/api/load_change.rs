//! `PATCH /api/tests/{id}`: a running test's rate (or an avalanche's users) changed on every
//! driver at one instant, seen in the per-second series of each driver and recorded in the
//! test's view and report; and every refusal (400 naming the field, 404, 409, 415).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onslaught_api::ApiOptions;
use onslaught_protocol::now_ms;
use serde_json::{Value, json};

use crate::support::{Answer, Harness};

/// `PATCH /api/tests/{id}` with a JSON body.
async fn patch(h: &Harness, id: &str, body: &Value) -> Answer {
    h.send(
        Request::patch(format!("/api/tests/{id}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-requested-by", "load-change test")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// Creates and starts `request`; returns its id once it runs, with its start time.
async fn start(h: &Harness, request: Value) -> (String, u64) {
    let created = h.post("/api/tests", &request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let view = created.json();
    assert_eq!(view["status"], "running", "{view}");
    let id = view["id"].as_str().unwrap().to_owned();
    let started = view["started_at_ms"].as_u64().unwrap();
    (id, started)
}

/// Sleeps until the wall clock reaches `at_ms`.
async fn sleep_until_ms(at_ms: u64) {
    tokio::time::sleep(Duration::from_millis(at_ms.saturating_sub(now_ms()))).await;
}

/// Sends of a schedule of `before`/s switched to `after`/s at `switch_s` (as the engine does:
/// arrival `first = ceil(switch * before)` at the switch, then one every `1 / after`) that fall
/// in `[from, to)` seconds.
fn sends_between(before: f64, after: f64, switch_s: f64, from: f64, to: f64) -> f64 {
    let old = |t: f64| (t.min(switch_s) * before).ceil();
    let new = |t: f64| ((t - switch_s).max(0.0) * after).ceil();
    (old(to) + new(to)) - (old(from) + new(from))
}

/// The acceptance of issue 12 item 3: a rate changed through the API mid-test takes effect on
/// every driver within 1 s, and the report records the change. Three drivers at 100/s each for
/// 6 s; at about 2 s the rate goes to 200/s each. Every second of each driver's series holds
/// what the switched schedule sends in it (+/- 2): the seconds after the change's instant at
/// the new rate, the one it falls in partly at each. Each driver's total is the switched
/// schedule's (+/- 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_changed_mid_test_is_in_force_on_every_driver_from_its_instant() {
    let h = Harness::start(3, ApiOptions::default()).await;
    let (id, started) = start(
        &h,
        json!({
            "test_type": "tsunami", "url": h.target, "rate": 100, "duration_ms": 6000,
            "concurrency": 4, "start": true,
        }),
    )
    .await;
    sleep_until_ms(started + 2_000).await;
    let asked_at = now_ms();
    let answer = patch(&h, &id, &json!({ "rate": 200 })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let view = answer.json();
    let change = &view["load_changes"][0];
    assert_eq!(change["rate"], 200.0, "{change}");
    assert_eq!(change["rate_total"], 600.0, "{change}");
    assert_eq!(change["requested_by"], "load-change test");
    let at_ms = change["at_ms"].as_u64().unwrap();
    let offset_ms = change["offset_ms"].as_u64().unwrap();
    assert_eq!(offset_ms, at_ms - started);
    assert!(
        (asked_at..=asked_at + 1_000).contains(&at_ms),
        "in force at {at_ms}, asked at {asked_at}: not within 1 s"
    );
    let ended = h.wait_ended(&id).await;
    let test = serde_json::to_value(&ended).unwrap();
    assert_eq!(test["status"], "completed", "{}", test["message"]);
    assert_eq!(test["load_changes"].as_array().unwrap().len(), 1);

    let switch_s = offset_ms as f64 / 1000.0;
    let series = test["series"].as_array().unwrap();
    let mut off = Vec::new();
    for point in series {
        let second = point["second"].as_u64().unwrap();
        if second >= 6 {
            continue;
        }
        let from = second as f64;
        let expected = sends_between(100.0, 200.0, switch_s, from, from + 1.0);
        for driver in ["driver-1", "driver-2", "driver-3"] {
            let sent = point["nodes"][driver].as_u64().unwrap_or(0) as f64;
            if (sent - expected).abs() > 2.0 {
                off.push(format!(
                    "{driver} second {second}: {sent} sent, the schedule {expected}"
                ));
            }
        }
    }
    assert!(
        off.is_empty(),
        "change at {offset_ms} ms: {off:#?}\n{series:#?}"
    );
    // Every second fully after the instant is at the new rate on every driver.
    let first_full = (offset_ms).div_ceil(1000);
    assert!(first_full <= 4, "the change came too late to be seen");
    for second in first_full..6 {
        let point = series
            .iter()
            .find(|p| p["second"] == second)
            .unwrap_or_else(|| panic!("no second {second}"));
        for driver in ["driver-1", "driver-2", "driver-3"] {
            let sent = point["nodes"][driver].as_u64().unwrap();
            assert!(
                sent.abs_diff(200) <= 2,
                "{driver} sent {sent} in second {second}, not 200"
            );
        }
    }
    let expected_total = sends_between(100.0, 200.0, switch_s, 0.0, 6.0);
    for (driver, stats) in test["nodes"].as_object().unwrap() {
        let sent = stats["requests_sent"].as_f64().unwrap();
        assert!(
            (sent - expected_total).abs() <= 1.0,
            "{driver} sent {sent}, the switched schedule {expected_total}"
        );
    }
    // The report records it.
    let path = test["report_path"].as_str().unwrap();
    let report: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(report["load_changes"], test["load_changes"]);
}

/// A rate in total changed mid-test: the drivers switch their stripes at one instant, so every
/// second they still send one schedule together (each a third of it) and over the whole test
/// exactly the switched schedule's requests (+/- 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_in_total_changed_mid_test_stays_one_schedule_split_by_the_drivers() {
    let h = Harness::start(3, ApiOptions::default()).await;
    let (id, started) = start(
        &h,
        json!({
            "test_type": "tsunami", "url": h.target, "rate_total": 300, "duration_ms": 5000,
            "concurrency": 4, "start": true,
        }),
    )
    .await;
    sleep_until_ms(started + 1_500).await;
    // Given per driver, kept in total: 200 each is 600 in total.
    let answer = patch(&h, &id, &json!({ "rate": 200 })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let change = answer.json()["load_changes"][0].clone();
    assert_eq!(change["rate_total"], 600.0, "{change}");
    assert_eq!(change["rate"], 200.0, "{change}");
    let offset_ms = change["offset_ms"].as_u64().unwrap();
    let test = serde_json::to_value(h.wait_ended(&id).await).unwrap();
    assert_eq!(test["status"], "completed", "{}", test["message"]);

    let switch_s = offset_ms as f64 / 1000.0;
    let mut off = Vec::new();
    for point in test["series"].as_array().unwrap() {
        let second = point["second"].as_u64().unwrap();
        if second >= 5 {
            continue;
        }
        let from = second as f64;
        let expected = sends_between(300.0, 600.0, switch_s, from, from + 1.0);
        let sent = point["requests"].as_f64().unwrap();
        if (sent - expected).abs() > 3.0 {
            off.push(format!(
                "second {second}: {sent} sent, the schedule {expected}"
            ));
        }
        for driver in ["driver-1", "driver-2", "driver-3"] {
            let mine = point["nodes"][driver].as_f64().unwrap_or(0.0);
            if (mine - expected / 3.0).abs() > 2.0 {
                off.push(format!(
                    "{driver} second {second}: {mine} sent, a third of {expected}"
                ));
            }
        }
    }
    assert!(off.is_empty(), "change at {offset_ms} ms: {off:#?}");
    let expected_total = sends_between(300.0, 600.0, switch_s, 0.0, 5.0);
    let sent = test["aggregate"]["requests_sent"].as_f64().unwrap();
    assert!(
        (sent - expected_total).abs() <= 1.0,
        "{sent} sent in all, the switched schedule {expected_total}"
    );
}

/// Users changed mid-test (issue 12 item 3, for closed load): an avalanche of 2 users per
/// driver on 3 drivers, the target answering in 50 ms; at about 1.5 s `users_total: 15` (5 on
/// each driver, 3 new users each), at about 3.5 s `users: 1`. Every second starting 300 ms or
/// more after a change's instant (a driver's run may start a little after the test's start,
/// and its seconds with it) counts the new users on every driver (the series' `users`, the mean
/// running in that second) and sends what they can (at most 20 a second each at 50 ms, at
/// least 14).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_changed_mid_test_run_on_every_driver_from_the_instant() {
    let h = Harness::start(3, ApiOptions::default()).await;
    let (id, started) = start(
        &h,
        json!({
            "test_type": "avalanche", "url": format!("{}?latency=50ms", h.target),
            "duration_ms": 5500, "concurrency": 2, "start": true,
        }),
    )
    .await;
    sleep_until_ms(started + 1_000).await;
    let answer = patch(&h, &id, &json!({ "users_total": 15 })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let raised = answer.json()["load_changes"][0].clone();
    assert_eq!(raised["users_total"], 15, "{raised}");
    assert!(
        raised.get("users").is_none() && raised.get("rate").is_none(),
        "{raised}"
    );
    sleep_until_ms(started + 3_000).await;
    let answer = patch(&h, &id, &json!({ "users": 1 })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let lowered = answer.json()["load_changes"][1].clone();
    assert_eq!(
        (&lowered["users"], &lowered["users_total"]),
        (&json!(1), &json!(3))
    );
    let test = serde_json::to_value(h.wait_ended(&id).await).unwrap();
    assert_eq!(test["status"], "completed", "{}", test["message"]);
    assert_eq!(test["load_changes"].as_array().unwrap().len(), 2);

    let offset = |c: &Value| c["offset_ms"].as_u64().unwrap();
    let (up, down) = (offset(&raised), offset(&lowered));
    assert!(up < 2_000 && down < 4_000, "changes at {up} and {down} ms");
    const SKEW_MS: u64 = 300;
    let users_in = |second: u64| -> Option<u64> {
        let (from, to) = (second * 1000, (second + 1) * 1000);
        if from >= down + SKEW_MS {
            Some(1)
        } else if from >= up + SKEW_MS && to <= down {
            Some(5)
        } else if to <= up {
            Some(2)
        } else {
            None // a change falls in it
        }
    };
    let mut off = Vec::new();
    let mut checked = 0;
    for point in test["series"].as_array().unwrap() {
        let second = point["second"].as_u64().unwrap();
        let Some(each) = users_in(second).filter(|_| second < 5) else {
            continue;
        };
        checked += 1;
        let users = point["users"].as_f64().unwrap_or(0.0);
        if (users - 3.0 * each as f64).abs() > 0.3 {
            off.push(format!("second {second}: {users} users, not {}", 3 * each));
        }
        for driver in ["driver-1", "driver-2", "driver-3"] {
            let sent = point["nodes"][driver].as_u64().unwrap_or(0);
            if !(14 * each..=20 * each + 1).contains(&sent) {
                off.push(format!(
                    "{driver} second {second}: {sent} sent by {each} users"
                ));
            }
        }
    }
    assert!(checked >= 3, "too few whole seconds checked: {up} {down}");
    assert!(off.is_empty(), "changes at {up} and {down} ms: {off:#?}");
}

#[tokio::test]
async fn a_change_is_refused_with_the_field_the_state_or_the_test_at_fault() {
    let h = Harness::start(1, ApiOptions::default()).await;
    // 404: no such test (the body is valid).
    let body = patch(&h, "t-nope", &json!({ "rate": 10 }))
        .await
        .error(StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("t-nope"), "{body}");

    // 409: created, not started.
    let created = h
        .post(
            "/api/tests",
            &json!({ "test_type": "tsunami", "url": h.target, "rate": 5, "duration_ms": 1000 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let body = patch(&h, &id, &json!({ "rate": 10 }))
        .await
        .error(StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("created"),
        "{body}"
    );

    // 400 naming the field, whatever the test's state.
    for (change, field) in [
        (json!({}), "rate"),
        (json!({ "rate": 0 }), "rate"),
        (json!({ "rate": -3 }), "rate"),
        (json!({ "rate": "fast" }), "rate"),
        (json!({ "rate_total": 1e12 }), "rate_total"),
        (json!({ "rate": 1, "rate_total": 3 }), "rate_total"),
        (json!({ "users": 0 }), "users"),
        (json!({ "users": 2.5 }), "users"),
        (json!({ "rate": 1, "users": 3 }), "users"),
        (json!({ "users_total": 0 }), "users_total"),
        (json!({ "vus": 20 }), "vus"),
    ] {
        let body = patch(&h, &id, &change).await.error(StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], field, "{change}: {body}");
    }
    let not_json = Request::patch(format!("/api/tests/{id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{rate: 5"))
        .unwrap();
    h.send(not_json).await.error(StatusCode::BAD_REQUEST);
    let yaml = Request::patch(format!("/api/tests/{id}"))
        .header(header::CONTENT_TYPE, "application/yaml")
        .body(Body::from("rate: 5"))
        .unwrap();
    h.send(yaml).await.error(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // 409: a running avalanche has no rate (the target answers in 300 ms: a handful of
    // requests), nor has a test on stages a rate to change.
    let (avalanche, _) = start(
        &h,
        json!({
            "test_type": "avalanche", "url": format!("{}?latency=300ms", h.target),
            "requests_per_driver": 100, "duration_ms": 1500, "concurrency": 1, "start": true,
        }),
    )
    .await;
    let body = patch(&h, &avalanche, &json!({ "rate": 10 }))
        .await
        .error(StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("avalanche"),
        "{body}"
    );
    // 400: more users in total than one driver may run.
    let body = patch(&h, &avalanche, &json!({ "users_total": 100_001 }))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "users_total", "{body}");
    // 409: over.
    h.wait_ended(&avalanche).await;
    let body = patch(&h, &avalanche, &json!({ "rate": 10 }))
        .await
        .error(StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("completed"),
        "{body}"
    );

    let (stages, _) = start(
        &h,
        json!({
            "test_type": "tsunami", "url": h.target, "concurrency": 1, "start": true,
            "stages": [{ "duration_ms": 1000, "target": 5 }],
        }),
    )
    .await;
    let body = patch(&h, &stages, &json!({ "rate": 10 }))
        .await
        .error(StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap().contains("stages"), "{body}");
    // 409: a tsunami has no users.
    let body = patch(&h, &stages, &json!({ "users": 10 }))
        .await
        .error(StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("tsunami"),
        "{body}"
    );
    h.wait_ended(&stages).await;

    // 409: a test that ends before the change could take effect (in 500 ms).
    let (short, started) = start(
        &h,
        json!({
            "test_type": "tsunami", "url": h.target, "rate": 5, "duration_ms": 1200,
            "concurrency": 1, "start": true,
        }),
    )
    .await;
    sleep_until_ms(started + 800).await;
    let body = patch(&h, &short, &json!({ "rate": 10 }))
        .await
        .error(StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap().contains("ends"), "{body}");
    let ended = h.wait_ended(&short).await;
    assert!(ended.load_changes.is_empty());
}
