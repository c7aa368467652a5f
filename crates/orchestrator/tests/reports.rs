//! Report files written by earlier builds still load (history after a restart): a report
//! written by main at 14304d2 (`onslaught run -n 20 --drivers 2 -c 2 --report-dir DIR`), the
//! same without `report_version` (files from before the field), and not one of a later version.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use onslaught_orchestrator::TestStatus;
use onslaught_orchestrator::report::{self, NodeReport, REPORT_VERSION, TestReport};
use serde_json::Value;

const TEST_ID: &str = "t-ab3c46c53c884ba18742b1ca4560ed18";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports-14304d2")
}

/// A copy of the fixture's aggregate report in a fresh folder, after `edit`.
fn edited_copy(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(fixture().join(TEST_ID).join("test.json")).unwrap();
    let mut value: Value = serde_json::from_slice(&text).unwrap();
    edit(value.as_object_mut().unwrap());
    std::fs::create_dir(dir.path().join(TEST_ID)).unwrap();
    std::fs::write(
        dir.path().join(TEST_ID).join("test.json"),
        serde_json::to_vec(&value).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn reports_written_by_main_still_load() {
    let reports = report::load_all(&fixture());
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.report_version, REPORT_VERSION);
    assert_eq!(r.test.id, TEST_ID);
    assert_eq!(r.test.status, TestStatus::Completed);
    assert_eq!(r.test.aggregate.counters.requests_sent, 40);
    assert_eq!(r.test.nodes.len(), 2);
    for node in ["driver-1", "driver-2"] {
        let path = fixture().join(TEST_ID).join(format!("node-{node}.json"));
        let node_report: NodeReport =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(node_report.report_version, REPORT_VERSION);
        assert_eq!(node_report.stats.counters.requests_sent, 20);
    }
    // What loads is written back with everything the file had (fields added since may join).
    let text = std::fs::read(fixture().join(TEST_ID).join("test.json")).unwrap();
    let on_disk: Value = serde_json::from_slice(&text).unwrap();
    assert_kept(&on_disk, &serde_json::to_value(r).unwrap(), "$");
}

/// Panics unless every field of `old` is in `new` with the same value.
fn assert_kept(old: &Value, new: &Value, at: &str) {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, value) in old {
                let here = format!("{at}.{key}");
                let kept = new.get(key).unwrap_or_else(|| panic!("{here} was dropped"));
                assert_kept(value, kept, &here);
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            assert_eq!(old.len(), new.len(), "{at}");
            for (i, (o, n)) in old.iter().zip(new).enumerate() {
                assert_kept(o, n, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(old, new, "{at}"),
    }
}

#[test]
fn reports_without_a_version_load_as_version_1() {
    let dir = edited_copy(|report| {
        assert!(report.remove("report_version").is_some());
    });
    let reports = report::load_all(dir.path());
    assert_eq!(reports.len(), 1, "an unversioned report was not loaded");
    assert_eq!(reports[0].report_version, 1);
    assert_eq!(reports[0].test.aggregate.counters.requests_sent, 40);
    let written: TestReport = reports[0].clone();
    assert_eq!(serde_json::to_value(&written).unwrap()["report_version"], 1);
}

#[test]
fn reports_of_a_later_version_are_skipped() {
    let dir = edited_copy(|report| {
        report.insert("report_version".to_owned(), (REPORT_VERSION + 1).into());
    });
    assert!(report::load_all(dir.path()).is_empty());
}
