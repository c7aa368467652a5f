//! A test's life through the API: create, start, run, stop, list, read, report.

use axum::http::{StatusCode, header};
use onslaught_api::ApiOptions;
use serde_json::json;

use crate::schema::assert_valid;
use crate::support::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_created_with_start_runs_on_every_driver_and_leaves_a_report() {
    let h = Harness::start(2, ApiOptions::default()).await;
    let doc = onslaught_api::openapi::document();

    let mut request = h.avalanche(40);
    request["start"] = json!(true);
    let created = h.post("/api/tests", &request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let view = created.json();
    assert_valid(&doc, "TestView", &view);
    let id = view["id"].as_str().unwrap().to_owned();
    assert!(
        ["configuring", "running"].contains(&view["status"].as_str().unwrap()),
        "{view}"
    );
    assert_eq!(view["drivers"], json!(["driver-1", "driver-2"]));

    h.wait_ended(&id).await;
    let answer = h.get(&format!("/api/tests/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let test = answer.json();
    assert_valid(&doc, "TestView", &test);
    assert_eq!(test["status"], "completed", "{test}");
    assert_eq!(test["aggregate"]["requests_sent"], 80);
    assert_eq!(test["aggregate"]["responses_received"], 80);
    assert_eq!(test["aggregate"]["status_codes"]["200"], 80);
    assert_eq!(test["nodes"]["driver-1"]["requests_sent"], 40);
    assert!(test["report_path"].is_string());

    let report = h.get(&format!("/api/tests/{id}/report")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(
        report.header(header::CONTENT_TYPE),
        Some("application/json")
    );
    assert_eq!(
        report.header(header::CONTENT_DISPOSITION),
        Some(format!("attachment; filename=\"onslaught-{id}.json\"").as_str())
    );
    let report = report.json();
    assert_valid(&doc, "Report", &report);
    let published = onslaught_orchestrator::report::test_report_schema().to_value();
    crate::schema::assert_valid_root(&published, &report);
    assert_eq!(report["report_version"], 1);
    assert_eq!(report["id"], id.as_str());
    assert_eq!(report["aggregate"]["requests_sent"], 80);

    // The HTML report: the page written beside test.json, as it is on disk.
    let folder = std::path::Path::new(test["report_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let written = std::fs::read_to_string(folder.join("report.html")).unwrap();
    let page = h.get(&format!("/api/tests/{id}/report.html")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.text(), written);
    // A folder without one (written by an older version) gets one made from its files.
    std::fs::remove_file(folder.join("report.html")).unwrap();
    let page = h.get(&format!("/api/tests/{id}/report.html")).await;
    if onslaught_orchestrator::html::is_built() {
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains(&format!("\"id\":\"{id}\"")));
        assert_eq!(page.text(), written, "made from the files as when written");
    } else {
        let error = page.error(StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("without the dashboard"),
            "{error}"
        );
    }

    let list = h.get("/api/tests").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_valid(&doc, "TestList", &list);
    assert_eq!(list["total"], 1);
    assert_eq!(list["tests"][0]["id"], id.as_str());
    assert!(
        list["tests"][0].get("series").is_none(),
        "list answers leave the series out"
    );

    let nodes = h.get("/api/nodes").await;
    assert_eq!(nodes.status, StatusCode::OK);
    let nodes = nodes.json();
    assert_valid(&doc, "NodeList", &nodes);
    let ids: Vec<&str> = nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["driver-1", "driver-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_test_starts_and_stops_on_request() {
    let h = Harness::start(1, ApiOptions::default()).await;
    let doc = onslaught_api::openapi::document();
    let request = json!({
        "test_type": "TSUNAMI",
        "url": h.target,
        "rate": 50.0,
        "duration_ms": 20_000,
        "concurrency": 2,
    });
    let created = h.post("/api/tests", &request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let view = created.json();
    assert_eq!(view["status"], "created");
    assert_eq!(view["config"]["rate"], 50.0);
    let id = view["id"].as_str().unwrap().to_owned();

    for route in ["report", "report.html"] {
        let report = h.get(&format!("/api/tests/{id}/{route}")).await;
        let error = report.error(StatusCode::NOT_FOUND);
        assert!(
            error["error"].as_str().unwrap().contains("no report yet"),
            "{route}: {error}"
        );
    }

    let started = h.post_empty(&format!("/api/tests/{id}/start")).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let started = started.json();
    assert_valid(&doc, "TestView", &started);
    assert_eq!(started["status"], "running");
    assert_eq!(started["drivers"], json!(["driver-1"]));

    let again = h.post_empty(&format!("/api/tests/{id}/start")).await;
    again.error(StatusCode::CONFLICT);

    let stopped = h.post_empty(&format!("/api/tests/{id}/stop")).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    assert_valid(&doc, "TestView", &stopped.json());
    let ended = h.wait_ended(&id).await;
    assert_eq!(format!("{:?}", ended.status), "Aborted");

    let again = h.post_empty(&format!("/api/tests/{id}/stop")).await;
    again.error(StatusCode::CONFLICT);
    let report = h.get(&format!("/api/tests/{id}/report")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(report.json()["status"], "aborted");
}

#[tokio::test]
async fn a_created_test_can_be_stopped_before_it_starts() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let created = h.post("/api/tests", &h.avalanche(10)).await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let stopped = h.post_empty(&format!("/api/tests/{id}/stop")).await;
    assert_eq!(stopped.status, StatusCode::OK);
    assert_eq!(stopped.json()["status"], "aborted");
}

#[tokio::test]
async fn lists_are_paged_newest_first() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let created = h.post("/api/tests", &h.avalanche(10)).await;
        assert_eq!(created.status, StatusCode::CREATED);
        ids.push(created.json()["id"].as_str().unwrap().to_owned());
    }
    let page = h.get("/api/tests?limit=2&offset=1").await.json();
    assert_eq!(page["total"], 5);
    let listed: Vec<&str> = page["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[3].as_str(), ids[2].as_str()]);
    let past_the_end = h.get("/api/tests?offset=10").await.json();
    assert_eq!(past_the_end["tests"], json!([]));
    assert_eq!(past_the_end["total"], 5);
    let whole = h.get("/api/tests?limit=100&cache=123").await.json();
    assert_eq!(whole["tests"].as_array().unwrap().len(), 5);
}

/// A test started the moment the previous one completes is accepted: a driver is free once its
/// final metrics are in (the orchestrator counts it finished with them, and the driver takes a
/// new config while its last run winds down), not only once a later heartbeat says so. It used
/// to be refused with 409 "all busy" until the drivers' "finished" heartbeats arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_started_as_the_previous_one_completes_is_accepted() {
    let h = Harness::start(2, ApiOptions::default()).await;
    let mut request = h.avalanche(20);
    request["start"] = json!(true);
    for round in 0..3 {
        let created = h.post("/api/tests", &request).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "round {round}: {}",
            created.text()
        );
        let id = created.json()["id"].as_str().unwrap().to_owned();
        // The moment its status is final (its last final metrics merged), not its report.
        let mut changes = h.orchestrator.watch();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while !h.orchestrator.test(&id).unwrap().status.is_final() {
            tokio::time::timeout_at(deadline, changes.changed())
                .await
                .expect("the test did not end in time")
                .unwrap();
        }
        assert_eq!(
            h.orchestrator.test(&id).unwrap().status,
            onslaught_orchestrator::TestStatus::Completed
        );
    }
}
