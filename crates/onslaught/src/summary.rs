//! The end-of-run summary, in the layout vegeta and oha users read at a glance.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use onslaught_orchestrator::{StatsView, Summary, TestView};

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.3}s", v / 1000.0)
    } else {
        format!("{v:.3}ms")
    }
}

/// A latency of `s`, or "-" when it has no samples (no latency without responses).
fn ms_of(s: &Summary, pick: fn(&Summary) -> f64) -> String {
    if s.count == 0 {
        "-".to_owned()
    } else {
        ms(pick(s))
    }
}

fn latencies(s: &Summary) -> String {
    if s.count == 0 {
        return "-".to_owned();
    }
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

/// A whole number with thousands separators: 10,000.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with `places` decimals and thousands separators: 1,500.00.
fn decimal(v: f64, places: usize) -> String {
    let text = format!("{:.places$}", v.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    let whole = whole
        .parse::<u64>()
        .map_or_else(|_| whole.to_owned(), count);
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// A rate: whole when it is whole (300), else with two decimals (333.33).
fn rate(v: f64) -> String {
    if v.fract() == 0.0 {
        decimal(v, 0)
    } else {
        decimal(v, 2)
    }
}

/// What bounds the load: a count per driver, a duration, or both.
fn load_line(per: Option<u64>, duration_ms: Option<u64>, drivers: usize) -> String {
    let during = duration_ms
        .map(|ms| humantime::format_duration(std::time::Duration::from_millis(ms)).to_string());
    match (per, during) {
        (Some(n), None) => format!(
            "{} per driver x {drivers} drivers = {} requests",
            count(n),
            count(n.saturating_mul(drivers as u64))
        ),
        (Some(n), Some(d)) => format!(
            "{} per driver x {drivers} drivers = {} requests, for at most {d}",
            count(n),
            count(n.saturating_mul(drivers as u64))
        ),
        (None, Some(d)) => format!("for {d} on each of {drivers} drivers"),
        (None, None) => "unbounded".to_owned(),
    }
}

/// Vegeta's attack and wait, in seconds: from the start to the last send, and from the last
/// send to the last response, across drivers (they start together). Drivers that did not say
/// (older ones) count their measured time as attack.
fn attack_and_wait(test: &TestView) -> (f64, f64) {
    let facts = test.node_facts.values();
    let attack_us = facts
        .clone()
        .map(|f| f.last_send_us.unwrap_or(f.elapsed_ms.saturating_mul(1000)))
        .max()
        .unwrap_or(0);
    let end_us = facts
        .map(|f| {
            f.last_response_us
                .or(f.last_send_us)
                .unwrap_or(f.elapsed_ms.saturating_mul(1000))
        })
        .max()
        .unwrap_or(0);
    (
        attack_us as f64 / 1e6,
        end_us.saturating_sub(attack_us) as f64 / 1e6,
    )
}

/// The schedule in force, its numbers per driver and in total (`, 100 req/s total (33.33 req/s
/// per driver)`); an avalanche's users curve; empty for any other avalanche.
fn schedule(c: &onslaught_plan::TestRequest, drivers: usize) -> String {
    let n = drivers.max(1) as f64;
    let curve = |stages: &[onslaught_plan::Stage]| {
        let points: Vec<String> = stages
            .iter()
            .map(|s| {
                // As `--stages` takes it: `1m30s:2000`.
                let d = humantime::format_duration(std::time::Duration::from_millis(s.duration_ms))
                    .to_string()
                    .replace(' ', "");
                format!("{d}:{}", s.target)
            })
            .collect();
        let peak = stages.iter().map(|s| s.target).fold(0.0, f64::max);
        (points.join(","), peak)
    };
    if c.test_type.eq_ignore_ascii_case("avalanche") {
        // An avalanche's stages are virtual users.
        let users = |u: f64| count(u as u64);
        return if !c.stages.is_empty() {
            let (points, peak) = curve(&c.stages);
            format!(
                ", stages {points} users per driver (peak {} users per driver, {} total)",
                users(peak),
                users(peak * n)
            )
        } else if !c.stages_total.is_empty() {
            let (points, peak) = curve(&c.stages_total);
            format!(
                ", stages {points} users total (peak {} users total, split across drivers)",
                users(peak)
            )
        } else {
            String::new()
        };
    }
    if let Some(r) = c.rate {
        format!(
            ", {} req/s per driver ({} req/s total)",
            rate(r),
            rate(r * n)
        )
    } else if let Some(r) = c.rate_total {
        format!(
            ", {} req/s total ({} req/s per driver, split)",
            rate(r),
            rate(r / n)
        )
    } else if !c.stages.is_empty() {
        let (points, peak) = curve(&c.stages);
        format!(
            ", stages {points} req/s per driver (peak {} req/s per driver, {} total)",
            rate(peak),
            rate(peak * n)
        )
    } else if !c.stages_total.is_empty() {
        let (points, peak) = curve(&c.stages_total);
        format!(
            ", stages {points} req/s total (peak {} req/s total, {} per driver, split)",
            rate(peak),
            rate(peak / n)
        )
    } else if let Some(d) = c.delay_ms.filter(|d| *d > 0.0) {
        format!(", {} ms between sends on each driver", rate(d))
    } else {
        String::new()
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
    let (attack_s, wait_s) = attack_and_wait(test);
    // Success is decided once, by the orchestrator's view (the test's accepted statuses).
    let attempted = a.counters.requests_attempted.max(a.counters.requests_sent);
    let successes = (a.success_ratio * attempted as f64).round() as u64;
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<54} {v}");
    };
    let schedule = schedule(c, drivers);
    line(
        "Test",
        format!("{} ({}{schedule})", test.id, c.test_type.to_lowercase()),
    );
    line(
        "Load",
        load_line(c.requests_per_driver, c.duration_ms, drivers),
    );
    for change in &test.load_changes {
        let at = decimal(change.offset_ms as f64 / 1000.0, 3);
        if let (Some(rate), Some(total)) = (change.rate, change.rate_total) {
            line(
                "Rate changed  [at, per driver, total, by]",
                format!(
                    "{at}s, {}/s, {}/s, {}",
                    decimal(rate, 2),
                    decimal(total, 2),
                    change.requested_by
                ),
            );
        } else if let Some(total) = change.users_total {
            let each = change
                .users
                .map_or_else(|| "split".to_owned(), |n| n.to_string());
            line(
                "Users changed  [at, per driver, total, by]",
                format!("{at}s, {each}, {total}, {}", change.requested_by),
            );
        }
    }
    for t in &test.takeovers {
        line(
            "Taken over  [lost, at, by, gap, unmeasured]",
            format!(
                "{}, {}s, {}, {}s..{}s, about {}",
                t.lost.join(" "),
                decimal(t.offset_ms as f64 / 1000.0, 3),
                t.drivers.join(" "),
                decimal(t.gap_from_offset_ms as f64 / 1000.0, 3),
                decimal(t.offset_ms as f64 / 1000.0, 3),
                t.unmeasured
            ),
        );
    }
    line("Status", format!("{:?}", test.status).to_lowercase());
    if let Some(message) = &test.message {
        line("Note", message.clone());
    }
    for warning in &test.warnings {
        line("Warning", warning.clone());
    }
    // Vegeta's meanings: rate = requests over the attack; throughput = successes over the
    // attack and the wait for the last response.
    let per_second = |n: u64, seconds: f64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    line(
        "Requests      [total, rate, throughput]",
        format!(
            "{}, {}/s, {}/s",
            count(a.counters.requests_sent),
            decimal(per_second(a.counters.requests_sent, attack_s), 2),
            decimal(per_second(successes, attack_s + wait_s), 2)
        ),
    );
    line(
        "Attempted     [total, never sent]",
        format!(
            "{}, {}",
            count(a.counters.requests_attempted),
            count(
                a.counters
                    .requests_attempted
                    .saturating_sub(a.counters.requests_sent)
            )
        ),
    );
    line(
        "Duration      [total, attack, wait]",
        format!("{total_s:.3}s, {attack_s:.3}s, {wait_s:.3}s"),
    );
    line(
        "Latencies     [min, mean, 50, 90, 95, 99, 99.9, max]",
        latencies(&a.latency),
    );
    line(
        "Mode          [most frequent latency]",
        ms_of(&a.latency, |s| s.mode),
    );
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
            count(a.counters.late_sends),
        );
    }
    line(
        "Bytes         [in, out]",
        format!(
            "{}, {}",
            bytes(a.counters.bytes_received),
            bytes(a.counters.bytes_sent)
        ),
    );
    line(
        "Success       [ratio]",
        format!(
            "{:.2}% (accepted statuses: {})",
            a.success_ratio * 100.0,
            c.expected_statuses()
        ),
    );
    let codes: Vec<String> = a
        .counters
        .status_codes
        .iter()
        .map(|(k, n)| format!("{k}:{}", count(*n)))
        .collect();
    let no_response: u64 = a
        .counters
        .requests_attempted
        .max(a.counters.requests_sent)
        .saturating_sub(a.counters.responses_received);
    let mut codes = codes.join("  ");
    if no_response > 0 {
        let sep = if codes.is_empty() { "" } else { "  " };
        let _ = write!(codes, "{sep}0:{}", count(no_response));
    }
    line("Status codes  [code:count]", codes);
    for t in &test.thresholds {
        let verdict = if t.warming_up {
            // The test ended (or is shown) before the threshold's `after`: nothing counted.
            "FAIL: pending (warm-up), the test ended before its warm-up did".to_owned()
        } else {
            format!(
                "{} (measured {})",
                if t.passed { "pass" } else { "FAIL" },
                threshold_value(&t.expression, t.value)
            )
        };
        line(&format!("Threshold     {}", t.expression), verdict);
    }
    if a.counters.errors.is_empty() {
        line("Errors", "none".to_owned());
    } else {
        // By name, as users look them up.
        let by_name: BTreeMap<_, _> = a
            .counters
            .errors
            .iter()
            .map(|(k, n)| (k.name(), n))
            .collect();
        let errors: Vec<String> = by_name
            .iter()
            .map(|(k, n)| format!("{k}: {}", count(**n)))
            .collect();
        line("Errors", errors.join(", "));
    }
    for (reason, n) in &a.counters.error_reasons {
        line("Error reason  [count]", format!("{reason}: {}", count(*n)));
    }
    if let Some(ratio) = a.checks_ratio() {
        line(
            "Checks        [passed, failed, ratio]",
            format!(
                "{}, {}, {:.2}%",
                count(a.counters.checks_passed),
                count(a.counters.checks_failed),
                ratio * 100.0
            ),
        );
        for (what, n) in &a.counters.failed_checks {
            line("Failed check  [count]", format!("{what}: {}", count(*n)));
        }
    }
    if a.by_name.len() > 1 {
        let _ = writeln!(out, "\nPer request:");
        requests_table(&mut out, a);
    }
    if !a.flows.is_empty() {
        let _ = writeln!(out, "\nPer flow:");
        flows_table(&mut out, a);
    }
    let _ = writeln!(out, "\nPer driver:");
    let _ = writeln!(
        out,
        "  {:<14} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8} {:>9}",
        "driver", "sent", "responses", "req/s", "p50", "p99", "max", "errors", "start"
    );
    for (node, s) in &test.nodes {
        let start = test
            .node_facts
            .get(node)
            .and_then(|f| f.start_offset_ms)
            .map_or("-".to_owned(), |o| format!("{o:+}ms"));
        let _ = writeln!(
            out,
            "  {:<14} {:>10} {:>10} {:>11} {:>11} {:>11} {:>11} {:>8} {:>9}",
            node,
            count(s.counters.requests_sent),
            count(s.counters.responses_received),
            decimal(s.rps, 1),
            ms_of(&s.latency, |s| s.median),
            ms_of(&s.latency, |s| s.p99),
            ms_of(&s.latency, |s| s.max),
            count(s.counters.error_count()),
            start
        );
    }
    if let Some(error) = &test.report_error {
        let _ = writeln!(out, "\nReports       not written: {error}");
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
        let page = std::path::Path::new(&folder).join(onslaught_orchestrator::html::FILE_NAME);
        if page.is_file() {
            let _ = writeln!(out, "              {} (opens offline)", page.display());
        }
    }
    let _ = writeln!(
        out,
        "Peak memory   {}",
        peak_rss_kb().map_or("unknown".to_owned(), |kb| bytes(kb * 1024))
    );
    out
}

/// The longest name shown in a table; longer ones end with `…`.
const NAME_WIDTH: usize = 40;

fn name_cell(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_owned()
    } else {
        let mut short: String = name.chars().take(width - 1).collect();
        short.push('…');
        short
    }
}

/// Requests that failed: attempted, not answered with an accepted status.
fn failures(s: &StatsView) -> u64 {
    let attempted = s.counters.requests_attempted.max(s.counters.requests_sent);
    attempted.saturating_sub((s.success_ratio * attempted as f64).round() as u64)
}

/// Locust's per-request table: a row per request name, then the whole test's.
fn requests_table(out: &mut String, a: &StatsView) {
    let width = a
        .by_name
        .keys()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("Aggregated".len(), NAME_WIDTH);
    let _ = writeln!(
        out,
        "  {:<width$} {:>10} {:>8} {:>11} {:>11} {:>11} {:>11} {:>10} {:>15}",
        "Name", "# reqs", "# fails", "median", "p95", "p99", "max", "req/s", "# checks failed"
    );
    let rows = a
        .by_name
        .iter()
        .map(|(name, s)| (name.as_str(), s))
        .chain([("Aggregated", a)]);
    for (name, s) in rows {
        let _ = writeln!(
            out,
            "  {:<width$} {:>10} {:>8} {:>11} {:>11} {:>11} {:>11} {:>10} {:>15}",
            name_cell(name, width),
            count(s.counters.requests_sent),
            count(failures(s)),
            ms_of(&s.latency, |s| s.median),
            ms_of(&s.latency, |s| s.p95),
            ms_of(&s.latency, |s| s.p99),
            ms_of(&s.latency, |s| s.max),
            decimal(s.rps, 2),
            count(s.counters.checks_failed)
        );
    }
}

/// A row per flow: its iterations and how long the completed ones took.
fn flows_table(out: &mut String, a: &StatsView) {
    let width = a
        .flows
        .keys()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("Flow".len(), NAME_WIDTH);
    let _ = writeln!(
        out,
        "  {:<width$} {:>10} {:>10} {:>11} {:>8} {:>10} {:>11} {:>11} {:>11}",
        "Flow", "started", "completed", "interrupted", "dropped", "iter/s", "median", "p95", "max"
    );
    for (name, f) in &a.flows {
        let _ = writeln!(
            out,
            "  {:<width$} {:>10} {:>10} {:>11} {:>8} {:>10} {:>11} {:>11} {:>11}",
            name_cell(name, width),
            count(f.started),
            count(f.completed),
            count(f.interrupted),
            count(f.dropped),
            decimal(f.rate, 2),
            ms_of(&f.duration, |s| s.median),
            ms_of(&f.duration, |s| s.p95),
            ms_of(&f.duration, |s| s.max)
        );
    }
}

/// The aggregate as JSON, with the process's peak memory.
/// The per-second series as CSV: the test's counts and latency (ms; empty without responses),
/// then the requests each driver sent in that second.
pub fn csv(test: &TestView) -> String {
    let drivers: Vec<&String> = test.nodes.keys().collect();
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out =
        String::from("second,requests,responses,errors,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,mean_ms");
    for d in &drivers {
        out.push(',');
        out.push_str(&quote(&format!("requests_{d}")));
    }
    out.push('\n');
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for p in &test.series {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            p.second,
            p.requests,
            p.responses,
            p.errors,
            cell(p.p50),
            cell(p.p90),
            cell(p.p95),
            cell(p.p99),
            cell(p.max),
            cell(p.mean)
        );
        for d in &drivers {
            let _ = write!(out, ",{}", p.nodes.get(*d).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out
}

pub fn json(test: &TestView) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(test)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("peak_rss_kb".to_owned(), serde_json::json!(peak_rss_kb()));
    }
    Ok(serde_json::to_string_pretty(&value)?)
}

/// A threshold's measured value in its metric's unit: a latency, a percentage, a rate.
pub fn threshold_value(expression: &str, value: Option<f64>) -> String {
    use onslaught_plan::{Metric, Threshold};
    let Some(v) = value else {
        return "nothing yet".to_owned();
    };
    match expression.parse::<Threshold>().map(|t| t.metric) {
        Ok(Metric::Latency(_)) => ms(v),
        Ok(Metric::ErrorRate | Metric::Checks) => format!("{:.3}%", v * 100.0),
        Ok(Metric::Rps) => format!("{}/s", decimal(v, 2)),
        Err(_) => decimal(v, 3),
    }
}

/// This process's peak resident memory (VmHWM), in KiB.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(decimal(1_500.0, 2), "1,500.00");
        assert_eq!(decimal(96_331.449, 2), "96,331.45");
        assert_eq!(decimal(0.5, 1), "0.5");
        assert_eq!(rate(300.0), "300");
        assert_eq!(rate(1_000.0 / 3.0), "333.33");
        let mut c = onslaught_plan::TestRequest::new("tsunami", "http://127.0.0.1/");
        c.rate = Some(100.0);
        assert_eq!(schedule(&c, 3), ", 100 req/s per driver (300 req/s total)");
        c.rate = None;
        c.rate_total = Some(100.0);
        assert_eq!(
            schedule(&c, 3),
            ", 100 req/s total (33.33 req/s per driver, split)"
        );
        c.rate_total = None;
        c.stages_total = vec![
            onslaught_plan::Stage {
                duration_ms: 15_000,
                target: 2000.0,
            },
            onslaught_plan::Stage {
                duration_ms: 90_000,
                target: 0.0,
            },
        ];
        assert_eq!(
            schedule(&c, 4),
            ", stages 15s:2000,1m30s:0 req/s total (peak 2,000 req/s total, 500 per driver, split)"
        );
        c.stages = std::mem::take(&mut c.stages_total);
        assert_eq!(
            schedule(&c, 4),
            ", stages 15s:2000,1m30s:0 req/s per driver (peak 2,000 req/s per driver, 8,000 total)"
        );
    }

    #[test]
    fn threshold_values_show_their_unit() {
        assert_eq!(threshold_value("p99 < 1s", Some(212.5)), "212.500ms");
        assert_eq!(threshold_value("error_rate<1%", Some(0.025)), "2.500%");
        assert_eq!(threshold_value("rps>900", Some(1_000.0)), "1,000.00/s");
        assert_eq!(threshold_value("p99 < 1s", None), "nothing yet");
        assert_eq!(threshold_value("checks > 99%", Some(0.995)), "99.500%");
        assert_eq!(threshold_value("login: p95<1s", Some(3.0)), "3.000ms");
    }

    /// A test of several request names ends with Locust's per-request table (a row per name
    /// and the whole test's) and a row per flow; a test of one request has neither.
    #[test]
    fn a_test_of_several_names_has_a_per_request_table_and_flows() {
        use onslaught_orchestrator::{FlowView, TestStatus};
        use onslaught_stats::Histogram;

        let named = |ms: &[u64], sent: u64, ok: u64, checks_failed: u64| {
            let mut h = Histogram::new();
            for v in ms {
                h.record_micros(v * 1000);
            }
            let mut s = StatsView::default();
            s.counters.requests_sent = sent;
            s.counters.requests_attempted = sent;
            s.counters.checks_failed = checks_failed;
            s.success_ratio = ok as f64 / sent as f64;
            s.rps = sent as f64 / 2.0;
            s.latency = h.summary();
            s
        };
        let mut test = TestView::fixture("t", TestStatus::Completed);
        let plain = text(&test);
        assert!(
            !plain.contains("Per request") && !plain.contains("Checks"),
            "{plain}"
        );
        let mut a = named(&[1, 2, 3, 2], 4, 4, 1);
        a.counters.checks_passed = 7;
        a.counters.failed_checks = BTreeMap::from([("status".to_owned(), 1)]);
        a.by_name
            .insert("login".to_owned(), named(&[1, 2, 2], 3, 3, 0));
        a.by_name.insert(
            "a very long request name that goes on and on and on".to_owned(),
            named(&[2], 1, 0, 1),
        );
        a.flows.insert(
            "buy".to_owned(),
            FlowView {
                started: 3,
                completed: 2,
                interrupted: 1,
                dropped: 5,
                rate: 1.0,
                duration: named(&[10, 20], 2, 2, 0).latency,
            },
        );
        test.aggregate = a;
        let out = text(&test);
        assert!(
            out.contains("Checks        [passed, failed, ratio]"),
            "{out}"
        );
        assert!(out.contains("7, 1, 87.50%"), "{out}");
        assert!(out.contains("status: 1"), "{out}");
        let table: Vec<&str> = out
            .lines()
            .skip_while(|l| *l != "Per request:")
            .skip(1)
            .take(4)
            .collect();
        let cells = |row: &str| {
            row.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert!(table[0].trim_start().starts_with("Name"), "{out}");
        let long = cells(table[1]);
        assert!(long[0].starts_with("a") && table[1].contains('…'), "{out}");
        assert_eq!(
            &long[long.len() - 8..],
            [
                "1", "1", "2.000ms", "2.000ms", "2.000ms", "2.000ms", "0.50", "1"
            ]
        );
        let login = cells(table[2]);
        assert_eq!(
            login,
            [
                "login", "3", "0", "2.000ms", "2.000ms", "2.000ms", "2.000ms", "1.50", "0"
            ]
        );
        let whole = cells(table[3]);
        assert_eq!(whole[..3], ["Aggregated", "4", "0"]);
        assert_eq!(whole[whole.len() - 1], "1");
        let flows: Vec<&str> = out
            .lines()
            .skip_while(|l| *l != "Per flow:")
            .skip(1)
            .take(2)
            .collect();
        let d = &test.aggregate.flows["buy"].duration;
        assert_eq!(
            cells(flows[1]),
            [
                "buy",
                "3",
                "2",
                "1",
                "5",
                "1.00",
                &ms(d.median),
                &ms(d.p95),
                &ms(d.max)
            ]
        );
        assert!(d.max > 19.9 && d.max < 20.1, "{d:?}");
    }

    #[test]
    fn each_rate_change_has_a_line() {
        let mut test = TestView::fixture("t", onslaught_orchestrator::TestStatus::Completed);
        test.config = onslaught_orchestrator::TestRequest::new("tsunami", "http://127.0.0.1:1/");
        test.drivers = vec!["d1".into(), "d2".into(), "d3".into()];
        test.started_at_ms = Some(1_000);
        test.ended_at_ms = Some(7_000);
        assert!(!text(&test).contains("Rate changed"));
        test.load_changes.push(onslaught_orchestrator::LoadChange {
            at_ms: 3_500,
            offset_ms: 2_500,
            rate: Some(200.0),
            rate_total: Some(600.0),
            requested_at_ms: 3_000,
            requested_by: "api".into(),
            ..Default::default()
        });
        test.load_changes.push(onslaught_orchestrator::LoadChange {
            at_ms: 4_500,
            offset_ms: 3_500,
            users_total: Some(7),
            requested_at_ms: 4_000,
            requested_by: "dashboard".into(),
            ..Default::default()
        });
        let plain = text(&test);
        let line = plain
            .lines()
            .find(|l| l.starts_with("Rate changed"))
            .unwrap_or_else(|| panic!("{plain}"));
        assert!(line.ends_with("2.500s, 200.00/s, 600.00/s, api"), "{line}");
        let line = plain
            .lines()
            .find(|l| l.starts_with("Users changed"))
            .unwrap_or_else(|| panic!("{plain}"));
        assert!(line.ends_with("3.500s, split, 7, dashboard"), "{line}");
    }

    #[test]
    fn each_takeover_has_a_line() {
        let mut test = TestView::fixture("t", onslaught_orchestrator::TestStatus::Degraded);
        test.drivers = vec!["d1".into(), "d2".into(), "d3".into()];
        assert!(!text(&test).contains("Taken over"));
        test.takeovers.push(onslaught_orchestrator::Takeover {
            lost: vec!["d2".into()],
            detected_at_ms: 14_000,
            at_ms: 14_500,
            offset_ms: 13_500,
            drivers: vec!["d1".into(), "d3".into()],
            gap_from_offset_ms: 10_000,
            unmeasured: 350,
        });
        let plain = text(&test);
        let line = plain
            .lines()
            .find(|l| l.starts_with("Taken over"))
            .unwrap_or_else(|| panic!("{plain}"));
        assert!(
            line.ends_with("d2, 13.500s, d1 d3, 10.000s..13.500s, about 350"),
            "{line}"
        );
    }

    #[test]
    fn the_load_line_names_its_bounds() {
        assert_eq!(
            load_line(Some(10_000), None, 3),
            "10,000 per driver x 3 drivers = 30,000 requests"
        );
        assert_eq!(
            load_line(None, Some(3_000), 2),
            "for 3s on each of 2 drivers"
        );
        assert!(load_line(Some(5), Some(90_000), 1).ends_with("for at most 1m 30s"));
    }
}
