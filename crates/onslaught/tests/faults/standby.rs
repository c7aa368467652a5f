//! The standby scenarios of issue 16: two orchestrators of one `--cluster` on a shared report
//! folder; the active one is killed (2s) or frozen and resumed after the takeover (2z).

use std::time::Duration;

use onslaught_testkit::{http, kcat};
use serde_json::Value;

use crate::harness::{
    Checks, Net, node, now_ms, poll, s, secs, start, target, test_view, tsunami, u, wait_live,
};
use crate::scenarios::{Env, completed_with_every_count};

const MS: Duration = Duration::from_millis(1);

/// The goal the issue sets for a takeover, from the kill to the standby serving the test: the
/// leader's session timeout (6 s), a rebalance, and the resume.
pub const TAKEOVER_BOUND: Duration = Duration::from_secs(10);

/// How the active orchestrator is taken out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// kill -9.
    Killed,
    /// SIGSTOP, then SIGCONT once the standby has taken over: a deposed orchestrator comes back.
    Frozen,
}

/// 2s / 2z. Two orchestrators, two drivers, a 20 s test on the active one; the fault mid-test;
/// the standby takes over within [`TAKEOVER_BOUND`] and completes the test with every request.
/// Frozen: a stop sent to the old leader while it is frozen, and its heartbeats once resumed,
/// carry its old epoch: the drivers refuse and count them (`stale_epoch`), the test is not
/// stopped, and the old leader exits as deposed (exit code 5).
pub fn active_lost(c: &mut Checks, env: &Env, fault: Fault) {
    const PER_DRIVER: u64 = 2000;
    let name = match fault {
        Fault::Killed => "s2s",
        Fault::Frozen => "s2z",
    };
    let net = Net::new(env.shared, &format!("{name}-"), &env.dir.join(name));
    let target = target(&net.dir, 0, &[], "target");
    let url = format!("{}/ping", target.url());
    let reports = net.dir.join("reports");
    let mut active = net.candidate(&reports, "faults", "orchestrator active", "orchestrator-a");
    let standby = net.candidate(&reports, "faults", "standing by", "orchestrator-b");
    let (api_a, api_b) = (active.url(), standby.url());

    // The standby knows the leader within a second or so and redirects there; writes too.
    let redirected = poll(Duration::from_secs(10), 100 * MS, || {
        let answer = http::try_request("POST", &format!("{api_b}/api/tests"), None).ok()?;
        (answer.status == 307).then(|| answer.header("location").unwrap_or("").to_owned())
    });
    c.check(
        redirected.as_deref() == Some(format!("{api_a}/api/tests").as_str()),
        format!("the standby's POST /api/tests answered {redirected:?}, expected a 307 to {api_a}/api/tests"),
    );

    let _drivers = net.drivers(&api_a, &["d1", "d2"], &[]);
    wait_live(&api_a, &["d1", "d2"]);
    // 20 s of load at 100 requests/s per driver.
    let id = start(&api_a, &tsunami(&url, 100, PER_DRIVER));
    let folder = reports.join(&id);
    let checkpointed = poll(Duration::from_secs(15), 100 * MS, || {
        let text = std::fs::read_to_string(folder.join("test.json")).ok()?;
        let report: Value = serde_json::from_str(&text).ok()?;
        (folder.join("resume.json").exists() && u(&report, "/aggregate/requests_sent") >= 200)
            .then_some(u(&report, "/aggregate/requests_sent"))
    });
    c.check(
        checkpointed.is_some(),
        "no checkpoint with requests and a resume point within 15 s",
    );

    let lost_at = now_ms();
    match fault {
        Fault::Killed => active.kill(),
        Fault::Frozen => {
            c.check(active.pause(), "SIGSTOP the active orchestrator");
        }
    }
    // The standby serves the test once it has taken over (before: 307 to the lost leader, or
    // 503 while the election runs).
    let took_over = poll(Duration::from_secs(30), 100 * MS, || {
        test_view(&api_b, &id).map(|view| (now_ms(), s(&view, "/status").to_owned()))
    });
    let (took_over_at, resumed) = took_over.unwrap_or((now_ms(), "never served".to_owned()));
    let takeover = Duration::from_millis(took_over_at.saturating_sub(lost_at));
    c.saw(format!(
        "{} the active after {} requests checkpointed; the standby served the test {resumed} {} after (bound {TAKEOVER_BOUND:?})",
        match fault {
            Fault::Killed => "kill -9",
            Fault::Frozen => "SIGSTOP",
        },
        checkpointed.unwrap_or(0),
        secs(lost_at, took_over_at),
    ));
    c.check(
        matches!(resumed.as_str(), "running" | "completed"),
        format!("after the takeover the test is {resumed}, expected running (resumed)"),
    );
    c.check(
        takeover <= TAKEOVER_BOUND,
        format!("the takeover took {takeover:?}, more than {TAKEOVER_BOUND:?}"),
    );

    if fault == Fault::Frozen {
        deposed_comes_back(c, &net, &mut active, &api_a, &api_b, &id);
    }
    completed_with_every_count(c, &net, &target, &api_b, &id, PER_DRIVER);
    // On disk: the new leader's epoch, and its final report (no resume point left).
    let epoch = std::fs::read_to_string(reports.join("leader-epoch")).unwrap_or_default();
    let on_disk = std::fs::read_to_string(folder.join("test.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .map_or("missing".to_owned(), |r| s(&r, "/status").to_owned());
    c.check(
        epoch.trim() == "2" && on_disk == "completed" && !folder.join("resume.json").exists(),
        format!(
            "report folder: leader-epoch {:?} (expected 2), test.json {on_disk}, resume.json left: {}",
            epoch.trim(),
            folder.join("resume.json").exists()
        ),
    );
}

/// The sum of the drivers' `stale_epoch` counters, as the new leader shows them.
fn stale(api: &str) -> u64 {
    ["d1", "d2"]
        .iter()
        .filter_map(|d| node(api, d))
        .map(|n| u(&n, "/counters/stale_epoch"))
        .sum()
}

/// The frozen old leader is resumed after the takeover, with a stop for the test waiting in
/// its API's socket. Whatever it sends before it learns of its deposition carries its old epoch
/// (the drivers refuse and count it; how much it sends depends on which it handles first, its
/// timers and that request or the group's answer); it then exits with code 5. Then the stop a
/// deposed orchestrator would send (its own start trigger from the topic, made a stop, epoch 1
/// kept) is put on the trigger topic: every driver refuses and counts it, and the test goes on.
fn deposed_comes_back(
    c: &mut Checks,
    net: &Net,
    active: &mut onslaught_testkit::Child,
    api_a: &str,
    api_b: &str,
    id: &str,
) {
    let before = stale(api_b);
    let stop_url = format!("{api_a}/api/tests/{id}/stop");
    // The connection is accepted by the kernel while the process is frozen; the request is
    // read once it runs again.
    let stop = std::thread::spawn(move || http::try_request("POST", &stop_url, None));
    std::thread::sleep(Duration::from_millis(300));
    c.check(active.resume(), "SIGCONT the old leader");
    let resumed_at = now_ms();
    let exited = poll(Duration::from_secs(15), 100 * MS, || {
        (!active.is_running()).then_some(now_ms())
    });
    let code = active.exit_code();
    let stop = stop
        .join()
        .ok()
        .map(|answer| answer.map_or_else(|e| e, |a| a.status.to_string()));
    // Its heartbeats reach the drivers' counters on their next heartbeat (every second).
    std::thread::sleep(Duration::from_millis(1500));
    let own = stale(api_b).saturating_sub(before);
    c.saw(format!(
        "old leader resumed: its stop answered {}, it exited {} after with code {code:?}; drivers refused {own} message(s) it sent meanwhile",
        stop.as_deref().unwrap_or("?"),
        exited.map_or("never".to_owned(), |at| secs(resumed_at, at)),
    ));
    c.check(
        exited.is_some() && code == Some(5),
        format!("the deposed orchestrator did not exit with code 5 within 15 s ({code:?})"),
    );

    let started = net
        .records("trigger")
        .into_iter()
        .map(|r| r.json())
        .find(|t| t["test_id"] == id && t["trigger"] == "YES");
    let Some(mut stale_stop) = started else {
        c.check(false, "the old leader's start trigger is not on the topic");
        return;
    };
    c.check(
        stale_stop["epoch"] == 1,
        format!(
            "the old leader's trigger carries epoch {}, expected 1",
            stale_stop["epoch"]
        ),
    );
    stale_stop["trigger"] = "STOP".into();
    stale_stop["issued_at_ms"] = now_ms().into();
    let counted = stale(api_b);
    kcat::produce(
        &net.broker.bootstrap,
        &net.topic("trigger"),
        id,
        &stale_stop.to_string(),
    );
    let refused = poll(Duration::from_secs(5), 200 * MS, || {
        let now = stale(api_b);
        (now >= counted + 2).then_some(now - counted)
    });
    c.saw(format!(
        "a stop of epoch 1 put on the trigger topic: refused by {} driver(s)",
        refused.unwrap_or(0)
    ));
    c.check(
        refused.is_some(),
        "the drivers did not refuse and count (stale_epoch) a stop of the deposed epoch",
    );
}
