//! A test as a YAML document (a plan file's text) as well as JSON: the same request, the same
//! refusals, and decoding errors that name their path in the document.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onslaught_api::ApiOptions;

use crate::schema::assert_valid;
use crate::support::{Answer, Harness};

async fn post_as(h: &Harness, content_type: &str, body: &str) -> Answer {
    let request = Request::post("/api/tests")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap();
    h.send(request).await
}

const YAML: &str = "
name: plain
url: http://127.0.0.1:9/ping
test_type: tsunami   # comments are fine
delay_ms: 10
requests_per_driver: 10
headers:
  - {name: Accept, value: application/json}
";

#[tokio::test]
async fn a_yaml_body_is_the_same_request_as_json() {
    let h = Harness::start(0, ApiOptions::default()).await;
    for content_type in [
        "application/yaml",
        "application/x-yaml; charset=utf-8",
        "text/yaml",
    ] {
        let answer = post_as(&h, content_type, YAML).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        let view = answer.json();
        assert_eq!(view["config"]["test_type"], "tsunami", "{view}");
        assert_eq!(view["config"]["headers"][0]["name"], "Accept", "{view}");
        assert_eq!(view["config"]["requests_per_driver"], 10);
    }
    assert_eq!(h.total().await, 3);
}

/// A flow test whose decoding fails at `path`: the error names it, whatever the syntax.
#[tokio::test]
async fn errors_in_a_plan_document_name_their_path_and_create_nothing() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let doc = onslaught_api::openapi::document();
    let flows = "
name: shop
base_url: http://127.0.0.1:9
test_type: avalanche
iterations_per_driver: 10
flows:
  - name: buy
    steps:
      - request: {method: POST, url: /login}
      - think: 10ms
      - request: {url: /items/1}
        extract: {token: {json: $.token}}
";
    let cases = [
        (
            flows.replace("{json: $.token}", "{jsonpath: $.token}"),
            "flows[0].steps[2].extract.token.jsonpath",
        ),
        (
            flows.replace("think: 10ms", "thinking: 10ms"),
            "flows[0].steps[1].thinking",
        ),
        (flows.replace("name: buy", "name: [buy]"), "flows[0].name"),
        (flows.replace("test_type: avalanche\n", ""), "test_type"),
        (format!("{flows}\nconcurrency: many\n"), "concurrency"),
    ];
    for (yaml, path) in &cases {
        let body = post_as(&h, "application/yaml", yaml)
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_valid(&doc, "Error", &body);
        assert_eq!(body["field"], *path, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{path}: ")),
            "{body}"
        );
        // The same document as JSON names the same path.
        let value: serde_json::Value = serde_yaml_ng::from_str(yaml).unwrap();
        let body = post_as(&h, "application/json", &value.to_string())
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], *path, "{body}");
    }
    for not_yaml in ["name: [unclosed", "\t- x: : :", "- just\n- a list"] {
        let body = post_as(&h, "application/yaml", not_yaml)
            .await
            .error(StatusCode::BAD_REQUEST);
        assert_valid(&doc, "Error", &body);
    }
    let body = post_as(&h, "application/yaml", "name: [unclosed")
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(body.get("field").is_none(), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not valid YAML"),
        "{body}"
    );
    assert_eq!(h.total().await, 0);
}

#[tokio::test]
async fn a_dataset_file_is_for_the_cli_and_the_api_says_so() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let yaml = "
base_url: http://127.0.0.1:9
test_type: avalanche
iterations_per_driver: 10
data:
  accounts: {csv: accounts.csv, order: shard}
flows:
  - name: buy
    steps:
      - request: {url: '/items/{{ accounts.user }}'}
";
    let body = post_as(&h, "application/yaml", yaml)
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "data.accounts.csv", "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("rows") && error.contains("onslaught run"),
        "{body}"
    );
    assert_eq!(h.total().await, 0);
}

#[tokio::test]
async fn other_content_types_are_415s_that_name_json_and_yaml() {
    let h = Harness::start(0, ApiOptions::default()).await;
    for content_type in ["text/plain", "application/yamlx", "text/csv"] {
        let body = post_as(&h, content_type, YAML)
            .await
            .error(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("application/json") && error.contains("application/yaml"));
    }
    assert_eq!(h.total().await, 0);
}
