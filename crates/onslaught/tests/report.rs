//! `onslaught report TEST_DIR [--html OUT]` with the real binary: a report folder (written by an
//! earlier build, moved since) becomes one self-contained page; a folder that is not a report
//! is refused with exit 2 and says why.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use support::onslaught;

const TEST_ID: &str = "t-ab3c46c53c884ba18742b1ca4560ed18";

/// A copy of the orchestrator's old-report fixture in a fresh folder.
fn report_folder() -> (tempfile::TempDir, PathBuf) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../orchestrator/tests/fixtures/reports-14304d2")
        .join(TEST_ID);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(TEST_ID);
    std::fs::create_dir(&folder).unwrap();
    for file in ["test.json", "node-driver-1.json", "node-driver-2.json"] {
        std::fs::copy(fixture.join(file), folder.join(file)).unwrap();
    }
    (dir, folder)
}

#[test]
fn a_report_folder_becomes_one_page() {
    let (_dir, folder) = report_folder();
    let out = folder.join("elsewhere.html");
    let output = onslaught()
        .arg("report")
        .arg(&folder)
        .arg("--html")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !built() {
        assert_ne!(output.status.code(), Some(0));
        assert!(stderr.contains("built without the dashboard"), "{stderr}");
        return;
    }
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        out.display().to_string()
    );
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.contains(TEST_ID));
    assert!(
        page.contains("id=\"report-data\">{"),
        "the data block is filled"
    );
    // Nothing to fetch: no external script, style or image.
    for reference in ["src=\"http", "href=\"http", "src=\"./", "href=\"./assets"] {
        assert!(!page.contains(reference), "{reference}");
    }

    // Without --html the page goes beside test.json.
    let output = onslaught().arg("report").arg(&folder).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(folder.join("report.html").is_file());
}

#[test]
fn a_folder_that_is_not_a_report_exits_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for folder in [dir.path().to_path_buf(), missing] {
        let output = onslaught().arg("report").arg(&folder).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{folder:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("is not a report folder: it has no test.json"),
            "{stderr}"
        );
    }
    let (_dir, folder) = report_folder();
    std::fs::write(folder.join("node-driver-2.json"), "not json").unwrap();
    let output = onslaught().arg("report").arg(&folder).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("node-driver-2.json is not a report file"),
        "{output:?}"
    );
}

/// Whether the binary carries the report page (dashboard/dist-report was built before it).
fn built() -> bool {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dashboard/dist-report/report.html")
        .is_file();
    assert!(
        built || std::env::var_os("ONSLAUGHT_REQUIRE_DASHBOARD").is_none(),
        "ONSLAUGHT_REQUIRE_DASHBOARD is set but dashboard/dist-report was not built"
    );
    built
}
