//! The fault scenarios of issue 6. Each records what it saw in [`Checks`]; a panic means
//! the scenario could not even run (a process did not start, an API call failed).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use onslaught_testkit::{Broker, Child, http, kcat};
use serde_json::{Value, json};

use crate::harness::{
    Checks, Net, STARTUP, node, nodes, now_ms, pings, poll, port_of, s, secs, sent_in, start,
    target, test_view, topic_vs_merged, tsunami, u, wait_final, wait_live, wait_sent,
};

/// What the scenarios share.
pub struct Env {
    /// The broker of the scenarios that do not restart it.
    pub shared: &'static Broker,
    /// Logs and reports, one folder per scenario.
    pub dir: PathBuf,
}

const MS: Duration = Duration::from_millis(1);

/// 1. `kill -9` a driver mid-test.
pub fn driver_killed(c: &mut Checks, env: &Env) {
    let net = Net::new(env.shared, "s1-", &env.dir.join("s1"));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let orchestrator = net.orchestrator(
        &net.dir.join("reports"),
        &["--missing-after", "3s", "--dead-after", "10s"],
        "orchestrator",
    );
    let api = orchestrator.url();
    let mut drivers = net.drivers(&api, &["d1", "d2"], &[]);
    wait_live(&api, &["d1", "d2"]);

    let id = start(&api, &tsunami(&url, 100, 1500));
    wait_sent(&api, &id, "d2", 300);
    drivers[1].kill();
    let killed_at = now_ms();

    // Liveness as the API shows it, polled every 50 ms.
    let (mut missing_at, mut dead_at, mut never_missing) = (None, None, false);
    let mut last_heartbeat_ms = 0;
    poll(Duration::from_secs(25), 50 * MS, || {
        let n = node(&api, "d2")?;
        let at = now_ms();
        last_heartbeat_ms = u(&n, "/last_heartbeat_ms");
        match s(&n, "/liveness") {
            "missing" => {
                missing_at.get_or_insert(at);
            }
            "dead" => {
                never_missing = missing_at.is_none();
                dead_at = Some(at);
                return Some(());
            }
            _ => {}
        }
        None
    });
    let (test, ended) = wait_final(&api, &id, Duration::from_secs(40));

    // The driver's last message of any kind: liveness counts from there.
    let by_node = net.metrics_of(&id);
    let last_metrics = by_node
        .get("d2")
        .and_then(|m| m.iter().map(|m| u(m, "/sent_at_ms")).max())
        .unwrap_or(0);
    let last_heartbeat = net
        .records("heartbeat")
        .iter()
        .map(kcat::Record::json)
        .filter(|h| h["node_id"] == "d2")
        .filter_map(|h| s(&h, "/timestamp").parse::<u64>().ok())
        .max()
        .unwrap_or(last_heartbeat_ms);
    let last_message = last_metrics.max(last_heartbeat);
    c.saw(format!(
        "killed {} after its last message",
        secs(last_message, killed_at)
    ));

    match missing_at {
        Some(at) => {
            let delta = at as i64 - last_message as i64;
            c.saw(format!(
                "missing {} after last message ({} after last heartbeat)",
                secs(last_message, at),
                secs(last_heartbeat, at)
            ));
            c.check(
                (2000..=4000).contains(&delta),
                format!("missing {delta} ms after the last message, expected 3000 ± 1000"),
            );
        }
        None => {
            c.check(
                false,
                format!("never shown missing (dead first: {never_missing})"),
            );
        }
    }
    match dead_at {
        Some(at) => {
            let delta = at as i64 - last_message as i64;
            c.saw(format!(
                "dead {} ({} after last heartbeat)",
                secs(last_message, at),
                secs(last_heartbeat, at)
            ));
            c.check(
                (8500..=11_500).contains(&delta),
                format!("dead {delta} ms after the last message, expected 10000 ± 1500"),
            );
        }
        None => {
            c.check(false, "never shown dead within 25 s");
        }
    }

    let status = s(&test, "/status");
    c.saw(format!("test {status}"));
    c.check(ended, format!("the test did not end within 40 s: {status}"));
    c.check(
        status == "degraded",
        format!("status {status}, expected degraded"),
    );
    c.check(
        s(&test, "/message").contains("d2"),
        format!("the test's message names d2: {:?}", s(&test, "/message")),
    );
    let lost = test["node_facts"]["d2"]["lost"] == true;
    let lost_at = u(&test, "/node_facts/d2/lost_at_ms");
    c.check(lost, "node_facts.d2.lost is true");
    if lost_at > 0 {
        let delta = lost_at as i64 - last_message as i64;
        c.saw(format!("lost_at_ms {}", secs(last_message, lost_at)));
        c.check(
            (8500..=11_500).contains(&delta),
            format!("lost_at_ms {delta} ms after the last message, expected 10000 ± 1500"),
        );
    } else {
        c.check(false, "node_facts.d2.lost_at_ms is set");
    }
    c.check(
        test["node_facts"]["d1"]["finished"] == true && test["node_facts"]["d1"]["lost"] == false,
        "d1 finished and not lost",
    );
    c.check(
        u(&test, "/nodes/d1/requests_sent") == 1500,
        format!("d1 sent {} of 1500", u(&test, "/nodes/d1/requests_sent")),
    );
    let merged = topic_vs_merged(&by_node, &test);
    let unreported = pings(&target.url())
        .unwrap_or(0)
        .saturating_sub(u(&test, "/aggregate/requests_sent"));
    c.saw(format!(
        "d2 sent {} before dying; {unreported} requests of its last < 0.5 s never reported (by design)",
        u(&test, "/nodes/d2/requests_sent")
    ));
    merged.record(c);
}

/// 2. `kill -9` the orchestrator mid-test, past the drivers' grace.
///
/// The orchestrator stays dead longer than `--orchestrator-timeout 5s`: the drivers stop their
/// load by themselves; an orchestrator started later resumes the test from its checkpoint and
/// the topic, and it ends `degraded` (the drivers cut their runs short) with every published
/// measurement merged.
pub fn orchestrator_killed(c: &mut Checks, env: &Env) {
    let net = Net::new(env.shared, "s2-", &env.dir.join("s2"));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let reports = net.dir.join("reports");
    let mut orchestrator = net.orchestrator(&reports, &[], "orchestrator");
    let api = orchestrator.url();
    let _drivers = net.drivers(&api, &["d1", "d2"], &["--orchestrator-timeout", "5s"]);
    wait_live(&api, &["d1", "d2"]);

    let mut body = tsunami(&url, 100, 0);
    body["requests_per_driver"] = Value::Null;
    body["duration_ms"] = json!(30_000);
    let id = start(&api, &body);

    // The checkpoint on disk has measurements before the kill.
    let checkpoint = reports.join(&id).join("test.json");
    let written = poll(Duration::from_secs(15), 100 * MS, || {
        let text = std::fs::read_to_string(&checkpoint).ok()?;
        let report: Value = serde_json::from_str(&text).ok()?;
        (u(&report, "/aggregate/requests_sent") >= 200).then_some(())
    });
    c.check(written.is_some(), "no checkpoint with requests within 15 s");
    orchestrator.kill();
    let killed_at = now_ms();

    // The drivers stop by themselves: the target's count stops growing.
    let mut last = pings(&target.url()).unwrap_or(0);
    let mut changed_at = killed_at;
    let stopped = poll(Duration::from_secs(15), 100 * MS, || {
        let now = pings(&target.url())?;
        let at = now_ms();
        if now != last {
            last = now;
            changed_at = at;
        }
        (at - changed_at >= 1500).then_some(())
    });
    let delta = changed_at as i64 - killed_at as i64;
    c.saw(format!(
        "load stopped {} after the kill",
        secs(killed_at, changed_at)
    ));
    c.check(
        stopped.is_some(),
        "the target's count never stopped growing",
    );
    c.check(
        (3500..=6500).contains(&delta),
        format!("load stopped {delta} ms after the kill, expected 5000 ± 1500"),
    );

    // The last checkpoint holds exactly the first messages on the topic.
    let saved: Value = std::fs::read_to_string(&checkpoint)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let by_node = net.metrics_of(&id);
    let mut inconsistent = 0i64;
    for (node_id, messages) in &by_node {
        let merged = u(&saved, &format!("/node_facts/{node_id}/messages"));
        let prefix: u64 = messages
            .iter()
            .filter(|m| u(m, "/seq") <= merged)
            .map(|m| u(m, "/counters/requests_sent"))
            .sum();
        inconsistent +=
            prefix as i64 - u(&saved, &format!("/nodes/{node_id}/requests_sent")) as i64;
    }
    c.check(
        inconsistent == 0,
        format!(
            "the checkpoint differs from the first messages on the topic by {inconsistent} requests"
        ),
    );

    // A new orchestrator on the same report folder resumes the test and ends it: the drivers'
    // final messages (sent when they stopped) are on the topic.
    let again = net.orchestrator(&reports, &[], "orchestrator-2");
    let api = again.url();
    let (test, ended) = wait_final(&api, &id, Duration::from_secs(30));
    let status = s(&test, "/status");
    let reported = u(&test, "/aggregate/requests_sent");
    c.saw(format!(
        "after restart: {status} ({:?}), {reported} requests",
        test["message"]
    ));
    c.check(
        ended,
        format!("the resumed test did not end within 30 s: {status}"),
    );
    c.check(
        status == "degraded" && s(&test, "/message").contains("no orchestrator heartbeat"),
        format!(
            "status {status:?}, message {:?}: expected degraded, saying the drivers stopped without orchestrator heartbeats",
            test["message"]
        ),
    );
    c.check(reported > 0, "the resumed test keeps requests_sent > 0");
    let fresh = u(&test, "/last_metrics_sent_at_ms");
    c.check(
        fresh >= killed_at,
        format!(
            "the resumed test's newest metrics are {} older than the kill: the drivers' final messages were not merged",
            secs(fresh, killed_at)
        ),
    );

    // The drivers say why they stopped (their heartbeats reach the new orchestrator).
    let orphaned = poll(Duration::from_secs(10), 200 * MS, || {
        let nodes = nodes(&api)?;
        let n = nodes
            .iter()
            .filter(|n| u(n, "/counters/orphaned_tests") == 1)
            .count();
        (n == 2).then_some(())
    });
    c.check(
        orphaned.is_some(),
        "both drivers report orphaned_tests = 1 to the new orchestrator",
    );

    // Data: what the drivers measured is all on the topic, and all of it is merged.
    let on_topic: u64 = by_node.values().map(|m| sent_in(m)).sum();
    let aborted: u64 = by_node
        .values()
        .flatten()
        .map(|m| u(m, "/counters/errors/aborted"))
        .sum();
    let received = last;
    c.check(
        received <= on_topic && on_topic <= received + aborted,
        format!(
            "target received {received}, drivers published {on_topic} sent ({aborted} aborted)"
        ),
    );
    c.saw(format!(
        "target got {received}; metrics topic has {on_topic}; the checkpoint had {}, the resumed report has {reported}",
        u(&saved, "/aggregate/requests_sent")
    ));
    topic_vs_merged(&by_node, &test).record(c);
}

/// 2r. `kill -9` the orchestrator mid-test (or, `graceful`, SIGTERM) and start it again 3 s later.
///
/// Same report folder; the drivers keep running through the outage (default
/// `--orchestrator-timeout`, 30 s) and the new orchestrator carries the test on from its
/// checkpoint and the metrics topic.
pub fn orchestrator_restarted(c: &mut Checks, env: &Env, graceful: bool) {
    const PER_DRIVER: u64 = 1500;
    let name = if graceful { "s2t" } else { "s2r" };
    let net = Net::new(env.shared, &format!("{name}-"), &env.dir.join(name));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let reports = net.dir.join("reports");
    let mut orchestrator = net.orchestrator(&reports, &[], "orchestrator");
    let api = orchestrator.url();
    let _drivers = net.drivers(&api, &["d1", "d2"], &[]);
    wait_live(&api, &["d1", "d2"]);

    // 15 s of load at 100 requests/s per driver.
    let id = start(&api, &tsunami(&url, 100, PER_DRIVER));
    let folder = reports.join(&id);
    let checkpointed = poll(Duration::from_secs(15), 100 * MS, || {
        let text = std::fs::read_to_string(folder.join("test.json")).ok()?;
        let report: Value = serde_json::from_str(&text).ok()?;
        let resumable = folder.join("resume.json").exists();
        (resumable && u(&report, "/aggregate/requests_sent") >= 200)
            .then_some(u(&report, "/aggregate/requests_sent"))
    });
    c.check(
        checkpointed.is_some(),
        "no checkpoint with requests and a resume point within 15 s",
    );
    let killed_at = now_ms();
    if graceful {
        c.check(orchestrator.signal("TERM"), "SIGTERM the orchestrator");
        let exited = poll(Duration::from_secs(15), 100 * MS, || {
            (!orchestrator.is_running()).then_some(())
        });
        c.check(
            exited.is_some(),
            "the orchestrator did not exit within 15 s of SIGTERM",
        );
    }
    orchestrator.kill();
    std::thread::sleep(Duration::from_secs(3)); // the outage itself, not a check

    let again = net.orchestrator(&reports, &[], "orchestrator-2");
    let ready_at = now_ms();
    let api = again.url();
    let resumed = test_view(&api, &id);
    let resumed_status = resumed
        .as_ref()
        .map_or("missing", |t| s(t, "/status"))
        .to_owned();
    c.saw(format!(
        "{} after {} requests checkpointed; new orchestrator ready {} after, test {resumed_status}",
        if graceful { "SIGTERM" } else { "kill -9" },
        checkpointed.unwrap_or(0),
        secs(killed_at, ready_at)
    ));
    c.check(
        matches!(resumed_status.as_str(), "running" | "completed"),
        format!("after the restart the test is {resumed_status}, expected running (resumed)"),
    );

    completed_with_every_count(c, &net, &target, &api, &id, PER_DRIVER);
}

/// After an orchestrator outage: the test `id` ends `completed` (seen through `api`) within
/// 40 s, each of d1 and d2 sent `per_driver` requests by its own count on the metrics topic and
/// by the report, no driver stopped it for want of an orchestrator, the target's count agrees,
/// and every metrics message on the topic was merged (data lost: 0).
pub fn completed_with_every_count(
    c: &mut Checks,
    net: &Net,
    target: &Child,
    api: &str,
    id: &str,
    per_driver: u64,
) {
    let (test, ended) = wait_final(api, id, Duration::from_secs(40));
    let status = s(&test, "/status");
    c.check(
        ended,
        format!("the resumed test did not end within 40 s: {status}"),
    );
    c.check(
        status == "completed",
        format!(
            "status {status:?} ({:?}), expected completed",
            test["message"]
        ),
    );
    // The drivers' own counts: what they published on the metrics topic, and the target's.
    let by_node = net.metrics_of(id);
    for node in ["d1", "d2"] {
        let own: u64 = by_node.get(node).map_or(0, |m| {
            let mut seen = std::collections::HashSet::new();
            m.iter()
                .filter(|m| seen.insert(s(m, "/report_id").to_owned()))
                .map(|m| u(m, "/counters/requests_sent"))
                .sum()
        });
        let merged = u(&test, &format!("/nodes/{node}/requests_sent"));
        c.check(
            own == per_driver && merged == own,
            format!("{node}: sent {own} by its own count, {merged} in the report, of {per_driver}"),
        );
    }
    let orphaned: Vec<String> = nodes(api)
        .unwrap_or_default()
        .iter()
        .filter(|n| u(n, "/counters/orphaned_tests") > 0)
        .map(|n| s(n, "/node_id").to_owned())
        .collect();
    c.check(
        orphaned.is_empty(),
        format!("drivers stopped their test during the outage: {orphaned:?}"),
    );
    let received = pings(&target.url()).unwrap_or(0);
    check_target_count(c, &test, received);
    let merged = topic_vs_merged(&by_node, &test);
    c.saw(format!(
        "test {status}: {} requests in the report, target got {received}, {} on the topic; data lost: {}",
        u(&test, "/aggregate/requests_sent"),
        merged.topic_requests,
        merged.lost_messages
    ));
    merged.record(c);
}

/// 3. Stop the broker mid-test and start it again on the same port and folder.
pub fn broker_restarted(c: &mut Checks, env: &Env, driver_extra: &[&str], label: &str) {
    let broker = Broker::start();
    let net = Net::new(&broker, "s3-", &env.dir.join(format!("s3{label}")));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &[], "orchestrator");
    let api = orchestrator.url();
    let _drivers = net.drivers(&api, &["d1", "d2"], driver_extra);
    wait_live(&api, &["d1", "d2"]);

    let id = start(&api, &tsunami(&url, 100, 1200));
    wait_sent(&api, &id, "d1", 200);
    let stopping = Instant::now();
    broker.stop();
    let stopped_in = stopping.elapsed();
    std::thread::sleep(Duration::from_secs(3)); // the outage itself, not a check
    let restarting = Instant::now();
    broker.restart();
    let restarted = Instant::now();
    c.saw(format!(
        "broker stopped in {:.1} s, down 3 s, back in {:.1} s",
        stopped_in.as_secs_f64(),
        restarting.elapsed().as_secs_f64()
    ));

    let (test, ended) = wait_final(&api, &id, Duration::from_secs(60));
    let status = s(&test, "/status");
    c.saw(format!("test {status}"));
    c.check(ended, format!("the test did not end within 60 s: {status}"));
    c.check(
        status == "completed",
        format!(
            "status {status}, expected completed ({})",
            s(&test, "/message")
        ),
    );
    let received = pings(&target.url()).unwrap_or(0);
    let mut sent_total = 0;
    for d in ["d1", "d2"] {
        let sent = u(&test, &format!("/nodes/{d}/requests_sent"));
        sent_total += sent;
        c.check(
            sent == 1200,
            format!("the orchestrator counts {sent} of 1200 requests for {d}"),
        );
        let missing = u(&test, &format!("/node_facts/{d}/missing_messages"));
        c.check(missing == 0, format!("{d}: {missing} missing messages"));
    }
    let aggregate = u(&test, "/aggregate/requests_sent");
    c.check(
        aggregate == sent_total,
        format!("aggregate {aggregate} != sum over nodes {sent_total}"),
    );
    check_target_count(c, &test, received);
    let reasons: Vec<String> = nodes(&api)
        .unwrap_or_default()
        .iter()
        .filter(|n| u(n, "/counters/orphaned_tests") > 0)
        .map(|n| format!("{}: {}", s(n, "/node_id"), s(n, "/reason")))
        .collect();
    if !reasons.is_empty() {
        c.saw(format!(
            "drivers stopped their test: {}",
            reasons.join("; ")
        ));
    }
    let by_node = net.metrics_of(&id);
    let merged = topic_vs_merged(&by_node, &test);
    let exposition = http::get(&format!("{api}/metrics")).body;
    let duplicates = exposition
        .lines()
        .find_map(|l| l.strip_prefix("onslaught_duplicate_metrics_messages_total "))
        .unwrap_or("?")
        .trim()
        .to_owned();
    let rejected: Vec<&str> = exposition
        .lines()
        .filter(|l| l.starts_with("onslaught_rejected_messages_total{"))
        .map(|l| l.trim_start_matches("onslaught_rejected_messages_total"))
        .collect();
    c.saw(format!(
        "aggregate {aggregate}, target {received}; {} re-sent records on the topic, {duplicates} duplicates dropped; rejected: {}",
        merged.resent,
        if rejected.is_empty() { "none".to_owned() } else { rejected.join(" ") }
    ));

    merged.record(c);

    // The orchestrator hears the drivers again, and a new test runs normally.
    let heard = poll(Duration::from_secs(15), 100 * MS, || {
        let nodes = nodes(&api)?;
        (nodes.iter().filter(|n| n["liveness"] == "alive").count() == 2).then(Instant::now)
    });
    match heard {
        Some(at) => {
            let after = at.duration_since(restarted).as_secs_f64();
            c.saw(format!(
                "orchestrator hears both drivers again {after:.1} s after the broker is back"
            ));
            // Must stay well under the 10 s dead threshold, so no driver is declared dead: the
            // Kafka clients give a connection attempt 5 s (socket.connection.setup.timeout.ms).
            if c.check(after < 8.0, format!("the orchestrator heard the drivers again only {after:.1} s after the broker was back")) {
            let answer = http::post(
                &format!("{api}/api/tests"),
                &json!({"test_type": "avalanche", "url": url, "requests_per_driver": 100,
                        "concurrency": 4, "timeout_ms": 5000, "start": true}),
            );
            let next = match s(&answer.json, "/id") {
                "" => format!("{} {}", answer.status, answer.body),
                id => s(&wait_final(&api, id, Duration::from_secs(20)).0, "/status").to_owned(),
            };
            c.saw(format!("a new test afterwards: {next}"));
            c.check(next == "completed", format!("a new test after the restart: {next}"));
            }
        }
        None => {
            c.saw(
                "the orchestrator still does not hear both drivers 15 s after the broker is back",
            );
            c.check(
                false,
                "the orchestrator did not hear both drivers within 15 s of the broker's return",
            );
        }
    }
}

/// 4. A driver cut off for 5 s (SIGSTOP, then SIGCONT).
pub fn driver_paused(c: &mut Checks, env: &Env, driver_extra: &[&str]) {
    let net = Net::new(env.shared, "s4-", &env.dir.join("s4"));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &[], "orchestrator");
    let api = orchestrator.url();
    let drivers = net.drivers(&api, &["d1", "d2"], driver_extra);
    wait_live(&api, &["d1", "d2"]);

    let id = start(&api, &tsunami(&url, 100, 1200));
    wait_sent(&api, &id, "d2", 200);
    c.check(drivers[1].pause(), "SIGSTOP d2");
    let paused = Instant::now();
    let paused_at = now_ms();
    let (missing_at, dead) = watch_liveness(&api, "d2", paused, Duration::from_secs(5));
    c.check(drivers[1].resume(), "SIGCONT d2");
    let resumed_at = now_ms();
    let alive_at = poll(Duration::from_secs(5), 50 * MS, || {
        let n = node(&api, "d2")?;
        (n["liveness"] == "alive").then(now_ms)
    });
    match missing_at {
        Some(at) => c.saw(format!("missing {} after SIGSTOP", secs(paused_at, at))),
        None => {
            c.check(false, "d2 was never shown missing while stopped");
        }
    }
    c.check(!dead, "d2 was shown dead after only 5 s");
    match alive_at {
        Some(at) => c.saw(format!(
            "alive again {} after SIGCONT",
            secs(resumed_at, at)
        )),
        None => {
            c.check(false, "d2 not alive again within 5 s of SIGCONT");
        }
    }

    let (test, ended) = wait_final(&api, &id, Duration::from_secs(40));
    let status = s(&test, "/status");
    c.saw(format!("test {status}"));
    c.check(ended, format!("the test did not end within 40 s: {status}"));
    c.check(
        status == "completed",
        format!("status {status}, expected completed"),
    );
    let d2 = node(&api, "d2").unwrap_or(Value::Null);
    let d2_sent = u(&test, "/nodes/d2/requests_sent");
    let orphaned = u(&d2, "/counters/orphaned_tests");
    c.saw(format!(
        "d1 sent {}, d2 sent {d2_sent} of 1200{}",
        u(&test, "/nodes/d1/requests_sent"),
        if orphaned > 0 {
            format!(" (d2 stopped its test itself: {:?})", s(&d2, "/reason"))
        } else {
            String::new()
        }
    ));
    c.check(
        u(&test, "/nodes/d1/requests_sent") == 1200,
        "d1 sent all 1200",
    );
    // Cut off for >= --orchestrator-timeout (5 s), d2 stops its own test (by design). The test
    // must then not read as a plain success.
    let says_so = status != "completed" || s(&test, "/message").contains("d2");
    c.check(
        d2_sent == 1200 || says_so,
        format!(
            "PRODUCT BUG: d2 stopped its own run at {d2_sent} of 1200, yet the test is `{status}` with message {:?}",
            test["message"]
        ),
    );
    let received = pings(&target.url()).unwrap_or(0);
    check_target_count(c, &test, received);
    topic_vs_merged(&net.metrics_of(&id), &test).record(c);
}

/// 4b. The orchestrator frozen for 6 s (SIGSTOP/SIGCONT): running drivers hear nothing for
/// longer than `--orchestrator-timeout` (5 s) and stop their test by design. The test must then
/// not read as a plain success.
pub fn orchestrator_paused(c: &mut Checks, env: &Env) {
    let net = Net::new(env.shared, "s4b-", &env.dir.join("s4b"));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &[], "orchestrator");
    let api = orchestrator.url();
    let _drivers = net.drivers(&api, &["d1", "d2"], &["--orchestrator-timeout", "5s"]);
    wait_live(&api, &["d1", "d2"]);

    let id = start(&api, &tsunami(&url, 100, 1500));
    wait_sent(&api, &id, "d1", 200);
    c.check(orchestrator.pause(), "SIGSTOP the orchestrator");
    std::thread::sleep(Duration::from_secs(6)); // the stall itself, not a check
    c.check(orchestrator.resume(), "SIGCONT the orchestrator");

    let (test, ended) = wait_final(&api, &id, Duration::from_secs(30));
    let status = s(&test, "/status");
    let stopped: Vec<String> = nodes(&api)
        .unwrap_or_default()
        .iter()
        .filter(|n| u(n, "/counters/orphaned_tests") > 0)
        .map(|n| s(n, "/node_id").to_owned())
        .collect();
    let sent: Vec<u64> = ["d1", "d2"]
        .iter()
        .map(|d| u(&test, &format!("/nodes/{d}/requests_sent")))
        .collect();
    c.saw(format!(
        "drivers that stopped their test themselves: {stopped:?}; sent {sent:?} of 1500 each; test {status}, message {:?}",
        test["message"]
    ));
    c.check(ended, format!("the test did not end within 30 s: {status}"));
    c.check(
        stopped.len() == 2,
        "both drivers stop their test after 5 s without orchestrator heartbeats",
    );
    let short = sent.iter().any(|n| *n < 1500);
    let says_so = status != "completed"
        || s(&test, "/message").contains("d1")
        || s(&test, "/message").contains("stopped");
    c.check(
        !short || says_so,
        format!(
            "PRODUCT BUG: the drivers stopped their runs early ({sent:?} of 1500), yet the test is `{status}` with message {:?}",
            test["message"]
        ),
    );
    let received = pings(&target.url()).unwrap_or(0);
    check_target_count(c, &test, received);
    topic_vs_merged(&net.metrics_of(&id), &test).record(c);
}

/// 5. The target dies mid-test and comes back on the same port.
pub fn target_restarted(c: &mut Checks, env: &Env) {
    let net = Net::new(env.shared, "s5-", &env.dir.join("s5"));
    // 50 ms per answer keeps about 5 requests in flight per driver when the target dies.
    let mut first = target(&net.dir, 0, &["--latency", "50ms"], "target");
    let base = first.url();
    let url = format!("{base}/ping");
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &[], "orchestrator");
    let api = orchestrator.url();
    let _drivers = net.drivers(&api, &["d1", "d2"], &[]);
    wait_live(&api, &["d1", "d2"]);

    let id = start(&api, &tsunami(&url, 100, 1000));
    wait_sent(&api, &id, "d1", 200);
    let before = pings(&base).unwrap_or(0);
    first.kill();
    std::thread::sleep(Duration::from_secs(3)); // the outage itself, not a check
    let second = target(&net.dir, port_of(&base), &["--latency", "50ms"], "target-2");
    c.saw(format!(
        "target killed after >= {before} requests, back on the same port 3 s later"
    ));

    let (test, ended) = wait_final(&api, &id, Duration::from_secs(40));
    let status = s(&test, "/status");
    c.saw(format!("test {status}"));
    c.check(ended, format!("the test did not end within 40 s: {status}"));
    c.check(
        status == "completed",
        format!("status {status}, expected completed"),
    );
    for scope in ["aggregate", "nodes/d1", "nodes/d2"] {
        let v = test
            .pointer(&format!("/{scope}"))
            .cloned()
            .unwrap_or(Value::Null);
        // A request whose connection could not be opened is attempted, never sent (issue 9).
        let attempted = u(&v, "/requests_attempted");
        let sent = u(&v, "/requests_sent");
        let responses = u(&v, "/responses_received");
        let errors: u64 = v["errors"]
            .as_object()
            .map(|e| e.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        let connect = u(&v, "/errors/connect");
        c.check(
            attempted == responses + errors,
            format!("{scope}: attempted {attempted} != responses {responses} + errors {errors}"),
        );
        c.check(
            sent + connect == attempted,
            format!("{scope}: sent {sent} + connect errors {connect} != attempted {attempted}"),
        );
    }
    for d in ["d1", "d2"] {
        let attempted = u(&test, &format!("/nodes/{d}/requests_attempted"));
        c.check(
            attempted == 1000,
            format!("{d} attempted {attempted} of 1000"),
        );
    }
    let errors = test["aggregate"]["errors"].clone();
    let connect = u(&errors, "/connect");
    let reset = u(&errors, "/reset");
    c.saw(format!(
        "attempted {} (sent {}) = responses {} + errors {}",
        u(&test, "/aggregate/requests_attempted"),
        u(&test, "/aggregate/requests_sent"),
        u(&test, "/aggregate/responses_received"),
        errors
    ));
    c.check(
        connect > 0,
        "connect errors counted while the target was down",
    );
    c.check(
        reset > 0,
        "reset errors counted for requests in flight when it died",
    );
    let again = pings(&second.url()).unwrap_or(0);
    c.check(
        again > 0,
        "the restarted target received the rest of the load",
    );
    topic_vs_merged(&net.metrics_of(&id), &test).record(c);
}

/// 6. Forged, unsigned and replayed control messages under `--secret`.
pub fn forged_and_replayed(c: &mut Checks, env: &Env) {
    let net = Net::new(env.shared, "s6-", &env.dir.join("s6"));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let secret = ["--secret", "fault-suite-secret"];
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &secret, "orchestrator");
    let api = orchestrator.url();
    let mut drivers = net.drivers(&api, &["d1", "d2"], &secret);
    wait_live(&api, &["d1", "d2"]);

    // A normal signed test.
    let id = start(
        &api,
        &json!({"test_type": "avalanche", "url": url, "requests_per_driver": 200,
                "concurrency": 4, "timeout_ms": 5000, "start": true}),
    );
    let (test, _) = wait_final(&api, &id, Duration::from_secs(30));
    let baseline = pings(&target.url()).unwrap_or(0);
    c.check(
        test["status"] == "completed" && baseline == 400,
        format!(
            "the signed test: {} with {baseline} requests (expected completed, 400)",
            test["status"]
        ),
    );
    let config = net
        .records("test_config")
        .into_iter()
        .find(|r| r.json()["test_id"] == id.as_str());
    let trigger = net
        .records("trigger")
        .into_iter()
        .find(|r| r.json()["test_id"] == id.as_str());
    let (Some(config), Some(trigger)) = (config, trigger) else {
        c.check(false, "the signed config and trigger are on their topics");
        return;
    };
    c.check(
        config.json()["signature"].is_string() && trigger.json()["signature"].is_string(),
        "the orchestrator signs test_config and trigger",
    );

    // (a) Forged (wrong signature) and unsigned control messages for a new test.
    let bootstrap = &net.broker.bootstrap;
    for (n, signature) in [
        (1, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
        (2, None),
    ] {
        let fake_id = format!("t-forged{n}");
        let mut fake = config.json();
        fake["test_id"] = json!(fake_id);
        fake["issued_at_ms"] = json!(now_ms());
        let mut fire = trigger.json();
        fire["test_id"] = json!(fake_id);
        fire["issued_at_ms"] = json!(now_ms());
        fire["start_at_ms"] = json!(now_ms() + 200);
        for message in [&mut fake, &mut fire] {
            match signature {
                Some(sig) => message["signature"] = json!(sig),
                None => {
                    message.as_object_mut().map(|m| m.remove("signature"));
                }
            }
        }
        kcat::produce(
            bootstrap,
            &net.topic("test_config"),
            &fake_id,
            &fake.to_string(),
        );
        kcat::produce(
            bootstrap,
            &net.topic("trigger"),
            &fake_id,
            &fire.to_string(),
        );
    }
    let counted = poll(Duration::from_secs(10), 200 * MS, || {
        let nodes = nodes(&api)?;
        let ok = nodes.iter().filter(|n| {
            u(n, "/counters/forged_messages") == 2 && u(n, "/counters/unsigned_messages") == 2
        });
        (ok.count() == 2).then_some(())
    });
    c.check(
        counted.is_some(),
        format!(
            "both drivers count forged_messages = 2 and unsigned_messages = 2: {}",
            counters(&api)
        ),
    );
    std::thread::sleep(Duration::from_millis(1500)); // a window for load that must not come
    let after_forged = pings(&target.url()).unwrap_or(0);
    c.check(
        after_forged == baseline,
        format!(
            "forged/unsigned messages caused {} requests",
            after_forged - baseline
        ),
    );

    // (b) The exact signed config and trigger of the finished test, replayed.
    kcat::produce(
        bootstrap,
        &net.topic("test_config"),
        &config.key,
        &config.payload,
    );
    kcat::produce(
        bootstrap,
        &net.topic("trigger"),
        &trigger.key,
        &trigger.payload,
    );
    let refused = poll(Duration::from_secs(10), 200 * MS, || {
        let nodes = nodes(&api)?;
        let ok = nodes.iter().filter(|n| {
            u(n, "/counters/replayed_configs") == 1 && u(n, "/counters/ignored_triggers") >= 1
        });
        (ok.count() == 2).then_some(())
    });
    c.check(
        refused.is_some(),
        format!(
            "both drivers count replayed_configs = 1 and the replayed trigger as ignored: {}",
            counters(&api)
        ),
    );
    std::thread::sleep(Duration::from_millis(1500)); // a window for load that must not come
    let after_replay = pings(&target.url()).unwrap_or(0);
    c.check(
        after_replay == after_forged,
        format!("the replay caused {} requests", after_replay - after_forged),
    );
    c.saw(format!("driver counters: {}", counters(&api)));
    c.saw(format!(
        "target: {baseline} from the signed test, +{} after forged/unsigned, +{} after the replay",
        after_forged - baseline,
        after_replay - after_forged
    ));

    // (c) The same replay once d1 has restarted (a crash and a supervisor's restart): it has
    // forgotten which tests it ran, and the config is younger than MAX_CONFIG_AGE (5 min).
    c.check(
        drivers[0].terminate(Duration::from_secs(15)),
        "d1 stops on SIGTERM",
    );
    let _d1_again = net.driver(&api, "d1", &secret);
    let restarted = now_ms();
    let ready = poll(Duration::from_secs(10), 100 * MS, || {
        let n = node(&api, "d1")?;
        (u(&n, "/last_heartbeat_ms") > restarted).then_some(())
    });
    c.check(ready.is_some(), "the restarted d1 heartbeats");
    kcat::produce(
        bootstrap,
        &net.topic("test_config"),
        &config.key,
        &config.payload,
    );
    kcat::produce(
        bootstrap,
        &net.topic("trigger"),
        &trigger.key,
        &trigger.payload,
    );
    let refused = poll(Duration::from_secs(5), 200 * MS, || {
        let n = node(&api, "d1")?;
        (u(&n, "/counters/replayed_configs") >= 1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500)); // a window for load that must not come
    let after_restart = pings(&target.url()).unwrap_or(0);
    c.saw(format!(
        "replay after d1 restarted: {}, +{} requests",
        if refused.is_some() {
            "refused"
        } else {
            "not refused"
        },
        after_restart - after_replay
    ));
    c.check(
        after_restart == after_replay,
        format!(
            "PRODUCT BUG: the signed config and trigger of a finished test, replayed after d1 restarted, made d1 run it again: +{} requests",
            after_restart - after_replay
        ),
    );
    c.data_lost = Some("n/a (0)".to_owned());
}

/// Every request the target received is counted once in the test, and every request counted
/// reached the target, except those aborted by a stop before they were written.
pub fn check_target_count(c: &mut Checks, test: &Value, received: u64) {
    let aggregate = u(test, "/aggregate/requests_sent");
    let aborted = u(test, "/aggregate/errors/aborted");
    c.check(
        received <= aggregate && aggregate <= received + aborted,
        format!(
            "target received {received}, the test counts {aggregate} sent ({aborted} aborted): duplicates or losses"
        ),
    );
}

fn counters(api: &str) -> String {
    nodes(api)
        .unwrap_or_default()
        .iter()
        .map(|n| format!("{} {}", s(n, "/node_id"), n["counters"]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// 7. A driver whose allowlist excludes the target refuses the test.
pub fn allowlist(c: &mut Checks, env: &Env) {
    let net = Net::new(env.shared, "s7-", &env.dir.join("s7"));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &[], "orchestrator");
    let api = orchestrator.url();
    let _driver = net.driver(&api, "d1", &["--allow-target", "10.0.0.0/8"]);
    wait_live(&api, &["d1"]);

    let answer = http::post(
        &format!("{api}/api/tests"),
        &json!({"test_type": "avalanche", "url": url, "requests_per_driver": 100,
                "concurrency": 2, "start": true}),
    );
    let error = s(&answer.json, "/error").to_owned();
    c.saw(format!("POST /api/tests: {} {error:?}", answer.status));
    c.check(
        answer.status == 409,
        format!("status {}, expected 409", answer.status),
    );
    c.check(
        error.contains("allow-target") && error.contains("d1"),
        "the answer names the driver and --allow-target",
    );
    let tests = http::get(&format!("{api}/api/tests")).json;
    let statuses: Vec<String> = tests["tests"]
        .as_array()
        .map(|t| t.iter().map(|t| s(t, "/status").to_owned()).collect())
        .unwrap_or_default();
    c.check(
        statuses == ["failed"],
        format!("the test is listed as failed: {statuses:?}"),
    );
    let refused = poll(Duration::from_secs(5), 100 * MS, || {
        (u(&node(&api, "d1")?, "/counters/refused_targets") == 1).then_some(())
    });
    c.check(refused.is_some(), "d1 counts refused_targets = 1");
    let received = pings(&target.url()).unwrap_or(u64::MAX);
    c.saw(format!("target received {received} requests"));
    c.check(
        received == 0,
        format!("the target received {received} requests"),
    );
    c.data_lost = Some("n/a (0)".to_owned());
}

/// A test host in a network namespace of its own, joined to this one by a veth pair: the host
/// side is `10.231.N.1/30` (the broker listens there), the namespace side `10.231.N.2/30`.
/// Deleted (with its veth pair) on drop.
struct NetNs {
    name: String,
    host_link: String,
    host_ip: String,
}

impl NetNs {
    fn create() -> Result<NetNs, String> {
        let n = std::process::id() % 250 + 1;
        let name = format!("onsl-{}", std::process::id());
        let host_link = format!("onslh{n}");
        let ns_link = format!("onsln{n}");
        let host_ip = format!("10.231.{n}.1");
        let ns_ip = format!("10.231.{n}.2");
        let _ = ip(&["netns", "del", &name]);
        let _ = ip(&["link", "del", &host_link]);
        ip(&["netns", "add", &name])?;
        let ns = NetNs {
            name: name.clone(),
            host_link: host_link.clone(),
            host_ip: host_ip.clone(),
        };
        ip(&[
            "link", "add", &host_link, "type", "veth", "peer", "name", &ns_link,
        ])?;
        ip(&["link", "set", &ns_link, "netns", &name])?;
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_link])?;
        ip(&["link", "set", &host_link, "up"])?;
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("{ns_ip}/30"),
            "dev",
            &ns_link,
        ])?;
        ip(&["netns", "exec", &name, "ip", "link", "set", &ns_link, "up"])?;
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `onslaught ARGS` run inside the namespace.
    fn onslaught(&self) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, env!("CARGO_BIN_EXE_onslaught")]);
        command
    }

    /// Cuts (`false`) or heals (`true`) the link between the namespace and this host.
    fn link(&self, up: bool) -> Result<(), String> {
        ip(&[
            "link",
            "set",
            &self.host_link,
            if up { "up" } else { "down" },
        ])
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_link]);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// 4n. A real network partition: the driver runs on a test host in its own network namespace
/// (its target on that host's loopback, so load never leaves it); the link to the broker is
/// cut for 4 s, then healed.
pub fn driver_partitioned(c: &mut Checks, env: &Env) {
    let ns = match NetNs::create() {
        Ok(ns) => ns,
        Err(e) => {
            c.check(
                false,
                format!("cannot create the test host (network namespace): {e}"),
            );
            return;
        }
    };
    let broker = Broker::start_on(&ns.host_ip);
    let net = Net::new(&broker, "s4n-", &env.dir.join("s4n"));
    let mut command = ns.onslaught();
    command.args(["target", "--listen", "127.0.0.1:0"]);
    let target = Child::spawn(
        command,
        "http://",
        Duration::from_secs(10),
        Some(&net.dir.join("target.log")),
    );
    let url = format!("{}/ping", target.url());
    let orchestrator = net.orchestrator(&net.dir.join("reports"), &[], "orchestrator");
    let api = orchestrator.url();
    let mut command = ns.onslaught();
    command
        .env("RUST_LOG", "info")
        .args([
            "driver",
            "--brokers",
            &broker.bootstrap,
            "--topic-prefix",
            &net.prefix,
        ])
        .args([
            "--orchestrator",
            &api,
            "--node-id",
            "d1",
            "--orchestrator-timeout",
            "30s",
        ]);
    let _driver = Child::spawn(command, "ready", STARTUP, Some(&net.dir.join("d1.log")));
    wait_live(&api, &["d1"]);

    let id = start(&api, &tsunami(&url, 100, 1200));
    wait_sent(&api, &id, "d1", 200);
    c.check(ns.link(false).is_ok(), "cut the link to the test host");
    let cut = Instant::now();
    let cut_at = now_ms();
    let (missing_at, dead) = watch_liveness(&api, "d1", cut, Duration::from_secs(4));
    c.check(ns.link(true).is_ok(), "heal the link");
    let healed_at = now_ms();
    let alive_at = poll(Duration::from_secs(8), 50 * MS, || {
        let n = node(&api, "d1")?;
        (n["liveness"] == "alive").then(now_ms)
    });
    match missing_at {
        Some(at) => c.saw(format!(
            "cut 4 s: missing {} after the cut",
            secs(cut_at, at)
        )),
        None => {
            c.check(false, "d1 was never shown missing while cut off");
        }
    }
    c.check(!dead, "d1 was shown dead after a 4 s cut");
    match alive_at {
        Some(at) => c.saw(format!(
            "alive again {} after the link healed",
            secs(healed_at, at)
        )),
        None => {
            c.check(false, "d1 not alive again within 8 s of the heal");
        }
    }
    let (test, ended) = wait_final(&api, &id, Duration::from_secs(40));
    let status = s(&test, "/status");
    c.saw(format!(
        "test {status}, d1 sent {} of 1200",
        u(&test, "/nodes/d1/requests_sent")
    ));
    c.check(
        ended && status == "completed",
        format!("status {status}, expected completed"),
    );
    c.check(
        u(&test, "/nodes/d1/requests_sent") == 1200,
        "d1 sent all 1200",
    );
    topic_vs_merged(&net.metrics_of(&id), &test).record(c);
}

/// Watches `node`'s liveness until `for_how_long` after `since`: when it was first shown
/// missing (ms since the Unix epoch), and whether it was ever shown dead.
fn watch_liveness(
    api: &str,
    node_id: &str,
    since: Instant,
    for_how_long: Duration,
) -> (Option<u64>, bool) {
    let (mut missing_at, mut dead) = (None, false);
    while since.elapsed() < for_how_long {
        if let Some(n) = node(api, node_id) {
            match s(&n, "/liveness") {
                "missing" => {
                    missing_at.get_or_insert(now_ms());
                }
                "dead" => dead = true,
                _ => {}
            }
        }
        std::thread::sleep(50 * MS);
    }
    (missing_at, dead)
}
