//! Test requests as parsed: URLs (IPv6, IDN, and each refusal saying what is wrong), rate and
//! delay together, methods, binary bodies, expected statuses, shape errors naming the field,
//! `start: true` echoed, busy drivers, and pass/fail by status.

use std::time::Duration;

use axum::http::StatusCode;
use onslaught_api::ApiOptions;
use onslaught_stats::ErrorKind;
use serde_json::{Value, json};

use crate::support::Harness;

fn avalanche(url: &str) -> Value {
    json!({ "test_type": "avalanche", "url": url, "requests_per_driver": 5 })
}

fn with(mut request: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        request[key] = value.clone();
    }
    request
}

#[tokio::test]
async fn urls_are_parsed_and_each_refusal_says_what_is_wrong() {
    let h = Harness::start(0, ApiOptions::default()).await;
    for url in [
        "http://[::1]:8080/ping",
        "http://[::1]/",
        "https://bücher.example/x?y=1",
        "HTTP://Example.com:65535",
    ] {
        let answer = h.post("/api/tests", &avalanche(url)).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{url}: {}",
            answer.text()
        );
    }
    for (url, says) in [
        ("http://user:pw@127.0.0.1/", "user info"),
        ("http://127.0.0.1/#top", "fragment"),
        ("http://127.0.0.1:0/", "port 0"),
        ("http://127.0.0.1:65536/", "port"),
        ("http://[::1/", "IPv6"),
        ("ftp://127.0.0.1/", "scheme `ftp`"),
        ("127.0.0.1/ping", "http://"),
        ("http:///ping", "host"),
        ("http://h/a b", "percent-encoded"),
    ] {
        let body = h
            .post("/api/tests", &avalanche(url))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], "url", "{url}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(says), "{url}: `{says}` not in {message}");
        assert!(!message.contains("must be an absolute http:// or https:// URL (host"));
    }
    // A test's own OTLP endpoint: a plain http:// URL, kept as written back.
    for (endpoint, says) in [
        ("https://127.0.0.1:4318/v1/metrics", "only http://"),
        ("http://127.0.0.1:0/v1/metrics", "port 0"),
        ("collector:4318", "http://"),
    ] {
        let mut test = avalanche(&h.target);
        test["otlp_endpoint"] = json!(endpoint);
        let body = h
            .post("/api/tests", &test)
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], "otlp_endpoint", "{endpoint}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains(says),
            "{endpoint}: `{says}` not in {message}"
        );
    }
    let mut test = avalanche(&h.target);
    test["otlp_endpoint"] = json!("http://127.0.0.1:4318/v1/metrics");
    let created = h.post("/api/tests", &test).await;
    assert_eq!(
        created.json()["config"]["otlp_endpoint"],
        "http://127.0.0.1:4318/v1/metrics"
    );
}

#[tokio::test]
async fn fields_are_checked_together_and_normalized() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let url = h.target.clone();
    let tsunami = json!({
        "test_type": "tsunami", "url": url, "requests_per_driver": 5,
        "rate": 10.0, "delay_ms": 5.0,
    });
    let body = h
        .post("/api/tests", &tsunami)
        .await
        .error(StatusCode::BAD_REQUEST);
    let message = body["error"].as_str().unwrap();
    assert_eq!(body["field"], "rate", "{body}");
    assert!(
        message.contains("delay_ms") && message.contains("one schedule"),
        "{body}"
    );

    // A delay of 0 is no delay: the dashboard sends one beside a rate.
    let mut by_rate = tsunami.clone();
    by_rate["delay_ms"] = json!(0.0);
    let answer = h.post("/api/tests", &by_rate).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());

    let created = h
        .post(
            "/api/tests",
            &with(avalanche(&url), json!({"method": "post"})),
        )
        .await
        .json();
    assert_eq!(created["config"]["method"], "POST");

    let body = h
        .post(
            "/api/tests",
            &with(avalanche(&url), json!({"headers": [["a", "b", "c"]]})),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "headers[0]", "{body}");
    assert!(
        !body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    for (changes, field) in [
        (json!({"body": "x", "body_base64": "eA=="}), "body_base64"),
        (json!({"body_base64": "not base64!"}), "body_base64"),
        (
            json!({"body_base64": "A".repeat(87_384 + 4)}),
            "body_base64",
        ),
        (json!({"expect_status": "2xx,6xx"}), "expect_status"),
        (json!({"expect_status": ""}), "expect_status"),
        (json!({"max_error_ratio": 1.5}), "max_error_ratio"),
        (json!({"max_error_ratio": -0.1}), "max_error_ratio"),
    ] {
        let body = h
            .post("/api/tests", &with(avalanche(&url), changes.clone()))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], field, "{changes}: {body}");
    }
    let created = h
        .post(
            "/api/tests",
            &with(
                avalanche(&url),
                json!({"body_base64": "/wCAfw==", "expect_status": "2XX, 404", "max_error_ratio": 0.5}),
            ),
        )
        .await
        .json();
    assert_eq!(created["config"]["body_base64"], "/wCAfw==");
    assert_eq!(created["config"]["expect_status"], "2xx,404");
    assert_eq!(created["config"]["max_error_ratio"], 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_test_says_so_and_busy_drivers_are_called_busy() {
    let h = Harness::start(1, ApiOptions::default()).await;
    let long = json!({
        "test_type": "tsunami", "url": h.target, "delay_ms": 100.0, "duration_ms": 10_000,
        "concurrency": 1, "start": true,
    });
    let answer = h.post("/api/tests", &long).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let running = answer.json();
    assert_eq!(running["config"]["start"], true, "{running}");
    let id = running["id"].as_str().unwrap().to_owned();

    let mut second = avalanche(&h.target);
    second["start"] = json!(true);
    let body = h
        .post("/api/tests", &second)
        .await
        .error(StatusCode::CONFLICT);
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("busy") && message.contains('1'),
        "{message}"
    );
    assert!(!message.contains("no live drivers"), "{message}");

    h.post_empty(&format!("/api/tests/{id}/stop")).await;
    tokio::time::timeout(Duration::from_secs(15), h.orchestrator.wait_test(&id))
        .await
        .expect("the test did not stop in time")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_not_accepted_are_errors_and_lower_the_success_ratio() {
    let h = Harness::start(1, ApiOptions::default()).await;
    let missing = h.target.replace("/ping", "/pnig");
    let mut request = avalanche(&missing);
    request["requests_per_driver"] = json!(20);
    request["start"] = json!(true);
    let id = h.post("/api/tests", &request).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = h.wait_ended(&id).await;
    assert_eq!(test.aggregate.counters.status_codes[&404], 20);
    assert_eq!(test.aggregate.counters.errors[&ErrorKind::Status(404)], 20);
    assert_eq!(test.aggregate.success_ratio, 0.0);
    assert!(!test.passed());
    assert_eq!(
        test.nodes["driver-1"].counters.errors[&ErrorKind::Status(404)],
        20
    );

    request["expect_status"] = json!("404");
    let id = h.post("/api/tests", &request).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = h.wait_ended(&id).await;
    assert_eq!(test.aggregate.success_ratio, 1.0);
    assert!(
        !test
            .aggregate
            .counters
            .errors
            .contains_key(&ErrorKind::Status(404))
    );
    assert!(test.passed());
}
