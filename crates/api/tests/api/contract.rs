//! The checked-in contract files are what the code generates; report files written by main at
//! 14304d2 are what the reader accepts, and written again they hold to the published schema.

use std::path::Path;

use onslaught_orchestrator::report::{NodeReport, TestReport};
use serde_json::Value;

use crate::schema::assert_valid_root;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn contract_files_are_current() {
    let mut stale = Vec::new();
    for (path, generated) in onslaught_api::openapi::files() {
        let checked_in = std::fs::read_to_string(root().join(path)).unwrap_or_default();
        if checked_in != generated {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what the Rust types generate: run \
         `cargo run -p onslaught-api --example contract`, then `cd dashboard && npm run gen:types`, \
         and commit the result"
    );
}

/// The schema of what `onslaught_orchestrator::report::load_all` accepts (fields with a default may be
/// absent), as opposed to the published schema of what is written now.
fn read_schema<T: schemars::JsonSchema>() -> Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

#[test]
fn report_files_of_main_are_what_the_reader_accepts() {
    let fixture = root().join(
        "crates/orchestrator/tests/fixtures/reports-14304d2/t-ab3c46c53c884ba18742b1ca4560ed18",
    );
    let read = |file: &str| -> Value {
        serde_json::from_slice(&std::fs::read(fixture.join(file)).unwrap()).unwrap()
    };
    let test_schema = read_schema::<TestReport>();
    let node_schema = read_schema::<NodeReport>();
    assert_valid_root(&test_schema, &read("test.json"));
    assert_valid_root(&node_schema, &read("node-driver-1.json"));
    assert_valid_root(&node_schema, &read("node-driver-2.json"));
    // Strict enough to fail: a count that is not a count is not valid.
    let mut report = read("test.json");
    report["aggregate"]["requests_sent"] = (-1).into();
    assert!(std::panic::catch_unwind(|| assert_valid_root(&test_schema, &report)).is_err());
}

#[test]
fn the_published_report_schema_holds_what_is_written() {
    let published: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(published["title"], "Report");
    let fixture = root().join(
        "crates/orchestrator/tests/fixtures/reports-14304d2/t-ab3c46c53c884ba18742b1ca4560ed18",
    );
    // What loads from main's file, written again by this build.
    let reports = onslaught_orchestrator::report::load_all(fixture.parent().unwrap());
    assert_eq!(reports.len(), 1);
    let written = serde_json::to_value(&reports[0]).unwrap();
    assert_valid_root(&published, &written);
    // Every file written has its version.
    let mut unversioned = written.clone();
    unversioned
        .as_object_mut()
        .unwrap()
        .remove("report_version");
    assert!(std::panic::catch_unwind(|| assert_valid_root(&published, &unversioned)).is_err());
}
