//! The checked-in contract files are what the code generates, and the published report schema
//! holds real report files (one written by main at 14304d2, and one written now).

use std::path::Path;

use serde_json::Value;

use crate::schema::assert_valid_root;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn contract_files_are_current() {
    let mut stale = Vec::new();
    for (path, generated) in api::openapi::files() {
        let checked_in = std::fs::read_to_string(root().join(path)).unwrap_or_default();
        if checked_in != generated {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what the Rust types generate: run \
         `cargo run -p api --example contract`, then `cd dashboard && npm run gen:types`, \
         and commit the result"
    );
}

#[test]
fn report_files_validate_against_the_published_schemas() {
    let schema = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join("docs").join(name)).unwrap())
            .unwrap()
    };
    let (test_schema, node_schema) = (
        schema("report.schema.json"),
        schema("node-report.schema.json"),
    );
    assert_eq!(test_schema["title"], "Report");
    let fixture = root().join(
        "crates/orchestrator/tests/fixtures/reports-14304d2/t-ab3c46c53c884ba18742b1ca4560ed18",
    );
    let read = |file: &str| -> Value {
        serde_json::from_slice(&std::fs::read(fixture.join(file)).unwrap()).unwrap()
    };
    assert_valid_root(&test_schema, &read("test.json"));
    assert_valid_root(&node_schema, &read("node-driver-1.json"));
    assert_valid_root(&node_schema, &read("node-driver-2.json"));
    // The schema is strict enough to fail: a report without its version, or with a count that
    // is not a count, is not valid.
    let mut report = read("test.json");
    report.as_object_mut().unwrap().remove("report_version");
    assert!(std::panic::catch_unwind(|| assert_valid_root(&test_schema, &report)).is_err());
    let mut report = read("test.json");
    report["aggregate"]["requests_sent"] = (-1).into();
    assert!(std::panic::catch_unwind(|| assert_valid_root(&test_schema, &report)).is_err());
}
