//! A user flow from a plan file, end to end through the real binary: `onslaught run
//! examples/shop.yaml` with 3 drivers against the built-in target ends with a per-request row
//! for every step, and the target's own per-route counts equal the report's per-name counts.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{TargetProcess, num, onslaught};

#[test]
fn a_plan_file_flow_reports_every_step_and_its_counts_match_the_target() {
    let _serial = support::serial();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let target = TargetProcess::start(&[
        "--accounts",
        examples.join("accounts.csv").to_str().unwrap(),
    ]);
    // The example as the README shows it, pointed at this test's target.
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(examples.join("shop.yaml"))
        .unwrap()
        .replace("http://127.0.0.1:8000", &target.base);
    std::fs::write(dir.path().join("shop.yaml"), plan).unwrap();
    std::fs::copy(
        examples.join("accounts.csv"),
        dir.path().join("accounts.csv"),
    )
    .unwrap();
    let reports = dir.path().join("reports");

    let output = onslaught()
        .arg("run")
        .arg(dir.path().join("shop.yaml"))
        .args([
            "--drivers",
            "3",
            "--rate",
            "60",
            "--iterations",
            "60",
            "--quiet",
        ])
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A per-request row for every step, in the text summary.
    let table = &text[text.find("Per request:").expect("a per-request table")..];
    for name in ["login", "item", "cart", "ping", "Aggregated"] {
        assert!(
            table
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "no row for {name}:\n{table}"
        );
    }

    // The report's per-name counts are the target's per-route counts.
    let folder = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("test.json").is_file())
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("test.json")).unwrap()).unwrap();
    let metrics = target.metrics();
    let by_name = &report["aggregate"]["by_name"];
    let mut total = 0.0;
    for (name, route) in [
        ("login", "/login"),
        ("item", "/items"),
        ("cart", "/cart"),
        ("ping", "/ping"),
    ] {
        let sent = num(by_name, &format!("/{name}/requests_sent"));
        let route = route.replace('/', "~1");
        let received = num(&metrics, &format!("/routes/{route}/requests_received"));
        assert!(sent > 0.0, "{name}: {by_name}");
        assert_eq!(sent, received, "{name}: the report vs the target");
        total += sent;
    }
    assert_eq!(num(&report, "/aggregate/requests_sent"), total);
    // Every /items request carried its user's token; every account logged in at most once.
    assert_eq!(metrics["sessions"]["token_mismatch"], 0, "{metrics}");
    assert_eq!(metrics["sessions"]["logins_refused"], 0, "{metrics}");
    for (user, account) in metrics["sessions"]["accounts"].as_object().unwrap() {
        assert!(
            account["logins"].as_u64().unwrap() <= 1,
            "{user}: {account}"
        );
    }
    let buy = &report["aggregate"]["flows"]["buy"];
    assert!(num(buy, "/completed") > 0.0, "{buy}");
}
