//! Memory stays flat however many requests run: a 1,000,000-request avalanche ends with a peak
//! resident size within 10% of a 100,000-request one.

#![allow(clippy::unwrap_used)]

mod support;

use support::{TargetProcess, num, run_json};

#[test]
fn peak_memory_is_flat_from_100k_to_1m_requests() {
    let target = TargetProcess::start(&[]);
    let url = format!("{}/ping", target.base);
    let peak = |requests: &str| {
        let reports = tempfile::tempdir().unwrap();
        let (test, output) = run_json(
            &[&url, "--drivers", "1", "--requests", requests],
            reports.path(),
        );
        assert!(output.status.success());
        (
            num(&test, "/aggregate/requests_sent"),
            num(&test, "/peak_rss_kb"),
        )
    };
    // The baseline's own run-to-run spread is part of "a 100,000-request run": take the larger
    // of two.
    let (n1, small_a) = peak("100k");
    let (_, small_b) = peak("100k");
    let small = small_a.max(small_b);
    let (n2, large) = peak("1m");
    assert_eq!(n1, 100_000.0);
    assert_eq!(n2, 1_000_000.0);
    assert!(
        large <= small * 1.10,
        "1M requests peaked at {large} KiB, 100k at {small} KiB"
    );
}
