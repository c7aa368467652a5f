//! Every refusal: each field out of range or of the wrong type, bodies that are not JSON, too
//! large or not declared as JSON, unknown tests and routes, and starts that cannot happen.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onslaught_api::ApiOptions;
use serde_json::{Value, json};

use crate::schema::assert_valid;
use crate::support::Harness;

/// A valid tsunami request to patch.
fn valid() -> Value {
    json!({
        "test_type": "tsunami",
        "url": "http://127.0.0.1:9/ping",
        "delay_ms": 10.0,
        "requests_per_driver": 10,
    })
}

fn patched(changes: Value) -> Value {
    let mut request = valid();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() && key.starts_with('-') {
            request.as_object_mut().unwrap().remove(&key[1..]);
        } else {
            request[key] = value.clone();
        }
    }
    request
}

/// Changes that `TestPlan::try_from` refuses, and the field each names.
fn out_of_range() -> Vec<(Value, &'static str)> {
    vec![
        (json!({"test_type": "blizzard"}), "test_type"),
        (json!({"url": "ftp://example.com/"}), "url"),
        (json!({"url": "http://"}), "url"),
        (json!({"url": "http://a b/"}), "url"),
        (json!({"method": "GE T"}), "method"),
        (json!({"method": ""}), "method"),
        (json!({"method": "A".repeat(33)}), "method"),
        (
            json!({"headers": [{"name": "a b", "value": "v"}]}),
            "headers",
        ),
        (json!({"headers": [{"name": "", "value": "v"}]}), "headers"),
        (
            json!({"headers": [{"name": "x", "value": "v\r\nInjected: 1"}]}),
            "headers",
        ),
        (json!({"delay_ms": -1.0}), "delay_ms"),
        (json!({"delay_ms": 0.0}), "delay_ms"),
        (json!({"delay_ms": 3_600_001.0}), "delay_ms"),
        (json!({"-delay_ms": null}), "delay_ms"),
        (json!({"rate": 0.0}), "rate"),
        (json!({"rate": -5.0}), "rate"),
        (json!({"rate": 1e8}), "rate"),
        (json!({"test_type": "avalanche", "rate": 10.0}), "rate"),
        (json!({"requests_per_driver": 0}), "requests_per_driver"),
        (
            json!({"requests_per_driver": 10_000_000_001u64}),
            "requests_per_driver",
        ),
        (json!({"-requests_per_driver": null}), "requests_per_driver"),
        (json!({"duration_ms": 0}), "duration_ms"),
        (
            json!({"duration_ms": 7 * 24 * 3600 * 1000 + 1}),
            "duration_ms",
        ),
        (json!({"concurrency": 0}), "concurrency"),
        (json!({"concurrency": 100_001}), "concurrency"),
        (json!({"timeout_ms": 0}), "timeout_ms"),
        (json!({"timeout_ms": 3_600_001}), "timeout_ms"),
        (json!({"drivers": 0}), "drivers"),
    ]
}

/// Changes that do not decode as a `TestRequest`, and the field each names.
fn wrong_types() -> Vec<(Value, &'static str)> {
    vec![
        (json!({"test_type": 5}), "test_type"),
        (json!({"-test_type": null}), "test_type"),
        (json!({"url": true}), "url"),
        (json!({"-url": null}), "url"),
        (json!({"method": ["GET"]}), "method"),
        (json!({"headers": "x-a: 1"}), "headers"),
        (
            json!({"headers": [{"name": 1, "value": "v"}]}),
            "headers[0].name",
        ),
        (
            json!({"headers": [{"name": "a", "value": "v"}, {"value": "v"}]}),
            "headers[1].name",
        ),
        (json!({"body": 5}), "body"),
        (json!({"delay_ms": "10"}), "delay_ms"),
        (json!({"rate": "fast"}), "rate"),
        (json!({"requests_per_driver": -1}), "requests_per_driver"),
        (json!({"requests_per_driver": 1.5}), "requests_per_driver"),
        (json!({"duration_ms": "1s"}), "duration_ms"),
        (json!({"concurrency": -1}), "concurrency"),
        (json!({"concurrency": 5_000_000_000u64}), "concurrency"),
        (json!({"concurrency": null}), "concurrency"),
        (json!({"timeout_ms": "30s"}), "timeout_ms"),
        (json!({"insecure": "yes"}), "insecure"),
        (json!({"drivers": -1}), "drivers"),
        (json!({"drivers": "all"}), "drivers"),
        (json!({"start": "true"}), "start"),
        (json!({"bogus": 1}), "bogus"),
        (
            json!({"thresholds": ["p99<1s", "p99 fast"]}),
            "thresholds[1]",
        ),
        (
            json!({"thresholds": ["p99<1s"], "abort_grace_ms": -1}),
            "abort_grace_ms",
        ),
        (json!({"abort_on_fail": true}), "abort_on_fail"),
    ]
}

#[tokio::test]
async fn every_invalid_field_is_a_400_naming_it_and_creates_nothing() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let doc = onslaught_api::openapi::document();
    let valid_answer = h.post("/api/tests", &valid()).await;
    assert_eq!(
        valid_answer.status,
        StatusCode::CREATED,
        "{}",
        valid_answer.text()
    );

    for (changes, field) in out_of_range().into_iter().chain(wrong_types()) {
        for start in [false, true] {
            let mut request = patched(changes.clone());
            request["start"] = json!(start);
            if changes.get("start").is_some() {
                request["start"] = changes["start"].clone();
            }
            let answer = h.post("/api/tests", &request).await;
            let body = answer.error(StatusCode::BAD_REQUEST);
            assert_valid(&doc, "Error", &body);
            assert_eq!(body["field"], field, "{changes} → {body}");
        }
    }
    assert_eq!(h.total().await, 1, "no invalid request created a test");
}

#[tokio::test]
async fn bodies_that_are_not_a_json_object_are_400s_without_a_field() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let trailing = format!("{} {{}}", valid());
    for body in [
        "",
        "{",
        "{\"url\": }",
        "[]",
        "5",
        "null",
        &trailing,
        "\u{1}",
    ] {
        let request = Request::post("/api/tests")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let answer = h.send(request).await;
        let error = answer.error(StatusCode::BAD_REQUEST);
        assert!(error.get("field").is_none(), "{body:?} → {error}");
    }
    assert_eq!(h.total().await, 0);
}

#[tokio::test]
async fn bodies_must_be_declared_json_and_at_most_one_mebibyte() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let body = valid().to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = Request::post("/api/tests");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = h
            .send(request.body(Body::from(body.clone())).unwrap())
            .await;
        answer.error(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let charset = Request::post("/api/tests")
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(h.send(charset).await.status, StatusCode::CREATED);

    let mut huge = valid();
    huge["body"] = json!("x".repeat(onslaught_api::MAX_BODY_BYTES));
    h.post("/api/tests", &huge)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    // Also when the length is not announced up front.
    let chunks = futures_util::stream::iter(
        (0..20).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 64 * 1024]))),
    );
    let streamed = Request::post("/api/tests")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .unwrap();
    h.send(streamed).await.error(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.total().await, 1);
}

#[tokio::test]
async fn unknown_tests_and_routes_are_json_404s_and_wrong_methods_405s() {
    let h = Harness::start(0, ApiOptions::default()).await;
    for path in ["/api/tests/t-nope", "/api/tests/t-nope/report"] {
        let body = h.get(path).await.error(StatusCode::NOT_FOUND);
        assert!(body["error"].as_str().unwrap().contains("t-nope"), "{body}");
    }
    for path in ["/api/tests/t-nope/start", "/api/tests/t-nope/stop"] {
        h.post_empty(path).await.error(StatusCode::NOT_FOUND);
    }
    for path in [
        "/api",
        "/api/",
        "/api/nope",
        "/api/tests/t-1/nope",
        "/api/tests/t-1/report/x",
    ] {
        let body = h.get(path).await.error(StatusCode::NOT_FOUND);
        assert!(
            body["error"].as_str().unwrap().contains("no API route"),
            "{path}: {body}"
        );
    }
    let put = Request::put("/api/tests").body(Body::empty()).unwrap();
    h.send(put).await.error(StatusCode::METHOD_NOT_ALLOWED);
    let delete = Request::delete("/api/tests/t-1")
        .body(Body::empty())
        .unwrap();
    h.send(delete).await.error(StatusCode::METHOD_NOT_ALLOWED);
    h.post_empty("/api/nodes")
        .await
        .error(StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn list_parameters_out_of_range_name_the_parameter() {
    let h = Harness::start(0, ApiOptions::default()).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("limit=5&offset=1.5", "offset"),
    ] {
        let body = h
            .get(&format!("/api/tests?{query}"))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], field, "{query}");
    }
    for limit in [1, 100] {
        let answer = h.get(&format!("/api/tests?limit={limit}")).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn starting_without_live_drivers_is_a_409_and_leaves_no_test() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let mut request = h.avalanche(10);
    request["start"] = json!(true);
    let body = h
        .post("/api/tests", &request)
        .await
        .error(StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("no live drivers"),
        "{body}"
    );
    assert!(body.get("field").is_none());
    assert_eq!(h.total().await, 0, "the refused test must not remain");

    // Created first, a start without drivers is refused and the test stays as it was.
    let created = h.post("/api/tests", &h.avalanche(10)).await.json();
    let id = created["id"].as_str().unwrap();
    h.post_empty(&format!("/api/tests/{id}/start"))
        .await
        .error(StatusCode::CONFLICT);
    let test = h.get(&format!("/api/tests/{id}")).await.json();
    assert_eq!(test["status"], "created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_more_drivers_than_are_live_is_a_409_and_leaves_no_test() {
    let h = Harness::start(1, ApiOptions::default()).await;
    let mut request = h.avalanche(10);
    request["start"] = json!(true);
    request["drivers"] = json!(2);
    let body = h
        .post("/api/tests", &request)
        .await
        .error(StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("2 drivers"),
        "{body}"
    );
    assert_eq!(h.total().await, 0);
}
