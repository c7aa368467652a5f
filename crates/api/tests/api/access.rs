//! Bearer-token auth on mutating routes (reads stay open) and CORS for one origin only.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use onslaught_api::ApiOptions;
use serde_json::json;

use crate::support::{Harness, bearer, get, post};

const TOKEN: &str = "s3cret-token-value";

fn with_token() -> ApiOptions {
    ApiOptions {
        api_token: Some(TOKEN.to_owned()),
        ..ApiOptions::default()
    }
}

#[tokio::test]
async fn mutating_routes_need_the_token_and_reads_stay_open() {
    let h = Harness::start(0, with_token()).await;
    let request = h.avalanche(10);

    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("Basic czNjcmV0"),
        Some("Bearer"),
    ] {
        let mut call = post("/api/tests", &request);
        if let Some(value) = authorization {
            call.headers_mut()
                .insert(header::AUTHORIZATION, value.parse().unwrap());
        }
        let answer = h.send(call).await;
        let body = answer.error(StatusCode::UNAUTHORIZED);
        assert!(answer.header(header::WWW_AUTHENTICATE).is_some());
        assert!(!answer.text().contains(TOKEN), "the token must not leak");
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    }
    assert_eq!(h.total().await, 0);

    let created = h.send(bearer(post("/api/tests", &request), TOKEN)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();

    for action in ["start", "stop"] {
        let path = format!("/api/tests/{id}/{action}");
        let call = Request::post(&path).body(Body::empty()).unwrap();
        h.send(call).await.error(StatusCode::UNAUTHORIZED);
    }
    let change = Request::patch(format!("/api/tests/{id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"rate": 5}"#))
        .unwrap();
    h.send(change).await.error(StatusCode::UNAUTHORIZED);
    // Unknown ids are not revealed to callers without the token either.
    h.post_empty("/api/tests/t-nope/stop")
        .await
        .error(StatusCode::UNAUTHORIZED);
    let stop = Request::post(format!("/api/tests/{id}/stop"))
        .body(Body::empty())
        .unwrap();
    let stopped = h.send(bearer(stop, TOKEN)).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());

    for path in [
        "/api/tests".to_owned(),
        format!("/api/tests/{id}"),
        "/api/nodes".to_owned(),
        "/api/openapi.json".to_owned(),
        "/metrics".to_owned(),
        "/".to_owned(),
    ] {
        assert_eq!(h.get(&path).await.status, StatusCode::OK, "{path}");
    }
    // The event stream answers without a token (its body never ends, so only the head is read).
    let response = tower::ServiceExt::oneshot(h.router.clone(), get("/api/events"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
}

#[tokio::test]
async fn an_empty_token_means_no_auth() {
    let options = ApiOptions {
        api_token: Some(String::new()),
        ..ApiOptions::default()
    };
    let h = Harness::start(0, options).await;
    let created = h.post("/api/tests", &h.avalanche(10)).await;
    assert_eq!(created.status, StatusCode::CREATED);
}

#[test]
fn options_never_show_the_token() {
    let shown = format!("{:?}", with_token());
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("redacted"));
}

const ORIGIN: &str = "http://dashboard.example:5173";

fn from_origin(method: Method, path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::ORIGIN, origin)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn only_the_allowed_origin_gets_cors_headers() {
    let options = ApiOptions {
        allowed_origin: Some(ORIGIN.to_owned()),
        ..with_token()
    };
    let h = Harness::start(0, options).await;

    let allowed = h.send(from_origin(Method::GET, "/api/tests", ORIGIN)).await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(
        allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );

    let other = h
        .send(from_origin(
            Method::GET,
            "/api/tests",
            "http://evil.example",
        ))
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);

    let mut preflight = from_origin(Method::OPTIONS, "/api/tests", ORIGIN);
    let headers = preflight.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_REQUEST_METHOD,
        "POST".parse().unwrap(),
    );
    headers.insert(
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        "authorization,content-type".parse().unwrap(),
    );
    let answer = h.send(preflight).await;
    assert!(answer.status.is_success(), "{:?}", answer.status);
    assert_eq!(
        answer.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );
    let methods = answer
        .header(header::ACCESS_CONTROL_ALLOW_METHODS)
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    assert!(methods.contains("PATCH"), "{methods}");
    let allowed_headers = answer
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS)
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );

    // A 401 still carries the header, so the allowed page can read why.
    let mut refused = from_origin(Method::POST, "/api/tests", ORIGIN);
    refused
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    let refused = h.send(refused).await;
    refused.error(StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(ORIGIN)
    );
}

#[tokio::test]
async fn without_an_allowed_origin_no_one_gets_cors_headers() {
    for allowed_origin in [None, Some("*".to_owned())] {
        let options = ApiOptions {
            allowed_origin,
            ..ApiOptions::default()
        };
        let h = Harness::start(0, options).await;
        for origin in [ORIGIN, "http://evil.example", "null"] {
            let answer = h.send(from_origin(Method::GET, "/api/nodes", origin)).await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
        }
        let created = h.send(post("/api/tests", &json!({}))).await;
        assert_eq!(created.status, StatusCode::BAD_REQUEST);
    }
}
