//! The HTML report page made from a report folder: a folder written by an earlier build (moved
//! since: its node report paths point elsewhere) is read, its spectrum comes from its exact
//! histogram, and the page carries test.json's content in its data block.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use onslaught_orchestrator::html::{self, HtmlError, ReportFolder};
use serde_json::Value;

const TEST_ID: &str = "t-ab3c46c53c884ba18742b1ca4560ed18";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports-14304d2")
        .join(TEST_ID)
}

fn read_value(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The JSON in the page's `report-data` block.
fn page_data(page: &str) -> Value {
    let start = page.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

#[test]
fn a_moved_folder_is_read_with_its_node_reports() {
    let folder = ReportFolder::read(&fixture()).unwrap();
    assert_eq!(folder.report.test.id, TEST_ID);
    assert_eq!(
        folder.nodes.keys().collect::<Vec<_>>(),
        ["driver-1", "driver-2"]
    );
    assert_eq!(folder.nodes["driver-1"].stats.counters.requests_sent, 20);
}

#[test]
fn the_spectrum_comes_from_the_exact_histogram() {
    let folder = ReportFolder::read(&fixture()).unwrap();
    let steps = html::spectrum(&folder.report, &fixture()).unwrap();
    let latency = &folder.report.test.aggregate.latency;
    let last = steps.last().unwrap();
    assert_eq!(last.quantile, 1.0);
    assert_eq!(last.count, latency.count);
    assert_eq!(last.ms, latency.max);
    assert!(
        steps
            .windows(2)
            .all(|w| w[0].ms <= w[1].ms && w[0].quantile <= w[1].quantile)
    );
}

#[test]
fn the_page_carries_the_report_files() {
    let folder = ReportFolder::read(&fixture()).unwrap();
    match html::render(&folder) {
        Ok(page) => {
            let data = page_data(&page);
            // The reports as this build reads them (fields added since the fixture was written
            // filled in), so every number of the files themselves.
            assert_eq!(
                data["report"],
                serde_json::to_value(&folder.report).unwrap()
            );
            assert_eq!(
                data["nodes"]["driver-2"],
                serde_json::to_value(&folder.nodes["driver-2"]).unwrap()
            );
            let file = read_value(&fixture().join("test.json"));
            for pointer in [
                "/aggregate/latency",
                "/nodes/driver-1/latency",
                "/series/0/p99",
                "/aggregate/status_codes",
            ] {
                assert_eq!(
                    data["report"].pointer(pointer),
                    file.pointer(pointer),
                    "{pointer}"
                );
            }
            assert!(data["spectrum"].as_array().unwrap().len() > 5);
            assert!(!page.contains("__ONSLAUGHT_REPORT_DATA__"));
        }
        Err(HtmlError::NotBuilt) => assert!(
            std::env::var_os("ONSLAUGHT_REQUIRE_DASHBOARD").is_none(),
            "ONSLAUGHT_REQUIRE_DASHBOARD is set but dashboard/dist-report was not built"
        ),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn write_beside_writes_report_html_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["test.json", "node-driver-1.json", "node-driver-2.json"] {
        std::fs::copy(fixture().join(file), dir.path().join(file)).unwrap();
    }
    let path = html::write_beside(dir.path()).unwrap();
    assert_eq!(path, dir.path().join("report.html"));
    let page = std::fs::read_to_string(&path).unwrap();
    if html::is_built() {
        assert_eq!(page_data(&page)["report"]["id"], TEST_ID);
    } else {
        assert!(page.contains("built without the dashboard"), "{page}");
    }
}

#[test]
fn a_folder_that_is_not_a_report_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = ReportFolder::read(dir.path()).unwrap_err();
    assert!(matches!(e, HtmlError::NotAReport(_)));
    assert!(e.to_string().contains("has no test.json"), "{e}");
    std::fs::write(dir.path().join("test.json"), "{").unwrap();
    assert!(matches!(
        ReportFolder::read(dir.path()),
        Err(HtmlError::Parse { .. })
    ));
}
