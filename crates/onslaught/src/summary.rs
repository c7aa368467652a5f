//! The end-of-run summary, in the layout vegeta and oha users read at a glance.

use std::fmt::Write as _;

use orchestrator::{StatsView, SummaryView, TestView};

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.3}s", v / 1000.0)
    } else {
        format!("{v:.3}ms")
    }
}

fn latencies(s: &SummaryView) -> String {
    [s.min, s.mean, s.median, s.p90, s.p95, s.p99, s.p999, s.max]
        .iter()
        .map(|v| ms(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.2} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.2} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn per_driver_line(label: &str, per: Option<u64>, drivers: usize) -> String {
    match per {
        Some(n) => format!(
            "{n} per driver x {drivers} drivers = {} {label}",
            n * drivers as u64
        ),
        None => format!("unbounded {label}"),
    }
}

/// The summary for people.
pub fn text(test: &TestView) -> String {
    let a: &StatsView = &test.aggregate;
    let c = &test.config;
    let drivers = test.drivers.len();
    let total_s = match (test.started_at_ms, test.ended_at_ms) {
        (Some(s), Some(e)) => e.saturating_sub(s) as f64 / 1000.0,
        _ => 0.0,
    };
    let attack_s = test
        .node_facts
        .values()
        .map(|f| f.elapsed_ms)
        .max()
        .unwrap_or(0) as f64
        / 1000.0;
    let successes: u64 = a
        .status_codes
        .iter()
        .filter(|(code, _)| code.parse::<u16>().is_ok_and(|c| c < 500))
        .map(|(_, n)| n)
        .sum();
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<54} {v}");
    };
    let schedule = match (c.rate, c.delay_ms) {
        (Some(rate), _) => format!(
            ", {rate} req/s per driver ({} req/s total)",
            rate * drivers as f64
        ),
        (None, Some(d)) if d > 0.0 => format!(", {d} ms between sends on each driver"),
        _ => String::new(),
    };
    line(
        "Test",
        format!("{} ({}{schedule})", test.id, c.test_type.to_lowercase()),
    );
    line(
        "Load",
        per_driver_line("requests", c.requests_per_driver, drivers),
    );
    line("Status", format!("{:?}", test.status).to_lowercase());
    if let Some(message) = &test.message {
        line("Note", message.clone());
    }
    line(
        "Requests      [total, rate, throughput]",
        format!(
            "{}, {:.2}/s, {:.2}/s",
            a.requests_sent,
            if attack_s > 0.0 {
                a.requests_sent as f64 / attack_s
            } else {
                0.0
            },
            if total_s > 0.0 {
                successes as f64 / total_s
            } else {
                0.0
            }
        ),
    );
    line(
        "Duration      [total, attack, wait]",
        format!(
            "{total_s:.3}s, {attack_s:.3}s, {:.3}s",
            (total_s - attack_s).max(0.0)
        ),
    );
    line(
        "Latencies     [min, mean, 50, 90, 95, 99, 99.9, max]",
        latencies(&a.latency),
    );
    line("Mode          [most frequent latency]", ms(a.latency.mode));
    if c.test_type.eq_ignore_ascii_case("tsunami") {
        line(
            "Service time  [min, mean, 50, 90, 95, 99, 99.9, max]",
            latencies(&a.service_time),
        );
        if let Some(gap) = &a.send_gap {
            line(
                "Send gap      [50, 99, max]",
                format!("{}, {}, {}", ms(gap.median), ms(gap.p99), ms(gap.max)),
            );
        }
        if let Some(lag) = &a.send_lag {
            line(
                "Send lag      [50, 99, max after intended]",
                format!("{}, {}, {}", ms(lag.median), ms(lag.p99), ms(lag.max)),
            );
        }
        line(
            "Late sends    [> 1 ms after intended]",
            a.late_sends.to_string(),
        );
    }
    line(
        "Bytes         [in, out]",
        format!("{}, {}", bytes(a.bytes_received), bytes(a.bytes_sent)),
    );
    line(
        "Success       [ratio]",
        format!("{:.2}%", a.success_ratio * 100.0),
    );
    let codes: Vec<String> = a
        .status_codes
        .iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect();
    let no_response: u64 = a.requests_sent.saturating_sub(a.responses_received);
    let mut codes = codes.join("  ");
    if no_response > 0 {
        let _ = write!(codes, "  0:{no_response}");
    }
    line("Status codes  [code:count]", codes);
    if a.errors.is_empty() {
        line("Errors", "none".to_owned());
    } else {
        let errors: Vec<String> = a.errors.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        line("Errors", errors.join(", "));
    }
    let _ = writeln!(out, "\nPer driver:");
    let _ = writeln!(
        out,
        "  {:<14} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8}",
        "driver", "sent", "responses", "req/s", "p50", "p99", "max", "errors"
    );
    for (node, s) in &test.nodes {
        let _ = writeln!(
            out,
            "  {:<14} {:>10} {:>10} {:>11.1} {:>11} {:>11} {:>11} {:>8}",
            node,
            s.requests_sent,
            s.responses_received,
            s.rps,
            ms(s.latency.median),
            ms(s.latency.p99),
            ms(s.latency.max),
            s.errors.values().sum::<u64>()
        );
    }
    if let Some(path) = &test.report_path {
        let _ = writeln!(out, "\nReports       {path}");
        let folder = std::path::Path::new(path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "              {folder}/node-<driver>.json (one per driver)"
        );
    }
    let _ = writeln!(
        out,
        "Peak memory   {}",
        peak_rss_kb().map_or("unknown".to_owned(), |kb| bytes(kb * 1024))
    );
    out
}

/// The aggregate as JSON, with the process's peak memory.
pub fn json(test: &TestView) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(test)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("peak_rss_kb".to_owned(), serde_json::json!(peak_rss_kb()));
    }
    Ok(serde_json::to_string_pretty(&value)?)
}

/// This process's peak resident memory (VmHWM), in KiB.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
