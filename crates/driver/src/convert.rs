//! Conversions at the driver's edges: test plan → engine spec, measured interval → wire metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use onslaught_engine::{Arrivals, Curve, FlowRun, LoadSpec, Mode, RequestTemplate, Stripe, Users};
use onslaught_plan::{Load, Schedule, Split, TestPlan};
use onslaught_protocol::{Metrics, PROTOCOL_VERSION, Trigger};
use onslaught_stats::{Counters, Measurements, Summary};

/// This driver's stripe of a test's schedule: its place among the test's `drivers` (as the
/// config lists them, the same order on every driver) and their number; `None` if it is not one
/// of them.
pub fn stripe_of(drivers: &[String], node_id: &str) -> Option<Stripe> {
    let place = drivers.iter().position(|d| d == node_id)?;
    Stripe::new(
        u64::try_from(place).ok()?,
        u64::try_from(drivers.len()).ok()?,
    )
}

/// What the engine runs for `plan` (the one place a plan becomes an engine spec) on the driver
/// that has `stripe` of a schedule in total, or why this driver cannot run it.
pub fn load_spec(plan: &TestPlan, stripe: Stripe) -> Result<LoadSpec, String> {
    let mut concurrency = plan.concurrency.get();
    let (mode, requests) = match &plan.load {
        Load::Avalanche => (Mode::Avalanche, plan.bound.requests()),
        Load::Ramping(users) => {
            let points: Vec<(Duration, f64)> = users
                .stages()
                .ramps()
                .iter()
                .map(|r| (r.duration, r.target))
                .collect();
            let curve = Curve::new(&points).map_err(|e| format!("stages: {e}"))?;
            let users = match users.split() {
                Split::PerDriver => Users::new(curve),
                Split::Total => Users::new(curve).striped(stripe),
            };
            // One connection per user at the curve's peak (this driver's share of it).
            concurrency = u32::try_from(users.peak()).unwrap_or(u32::MAX).max(1);
            (Mode::Ramping(users), plan.bound.requests())
        }
        Load::Tsunami(schedule) => {
            let (whole, before_deadline) = arrivals(schedule, plan.bound.duration())?;
            let (arrivals, mine) = match schedule.split() {
                Split::PerDriver => (whole, before_deadline),
                Split::Total => (
                    whole.striped(stripe),
                    before_deadline.map(|n| stripe.share(n)),
                ),
            };
            let requests = match (mine, plan.bound.requests()) {
                (Some(fit), Some(n)) => Some(n.min(fit)),
                (fit, n) => fit.or(n),
            };
            (Mode::Scheduled(arrivals), requests)
        }
    };
    let uri = http::Uri::try_from(plan.url.as_str())
        .map_err(|e| format!("url `{}` is not a valid URI: {e}", plan.url))?;
    let mut headers = HeaderMap::with_capacity(plan.headers.len());
    for h in &plan.headers {
        headers.append(h.name.clone(), h.value.clone());
    }
    let request = RequestTemplate {
        method: plan.method.clone(),
        uri,
        headers,
        body: plan.body.as_ref().map(|b| b.bytes()).unwrap_or_default(),
    };
    let spec = LoadSpec {
        mode,
        requests,
        duration: plan.bound.duration(),
        concurrency,
        timeout: plan.timeout,
        insecure: plan.insecure,
        threads: None,
        request,
        flows: plan.scenario.as_ref().map(|scenario| FlowRun {
            scenario: Arc::clone(scenario),
            driver: stripe.index(),
            drivers: stripe.of(),
        }),
    };
    if let Some(limit) = onslaught_engine::limits::raise_open_files()
        && !onslaught_engine::limits::fits(u64::from(spec.concurrency), limit)
    {
        return Err(format!(
            "concurrency {} needs as many open files, beyond this driver's limit of {limit} \
             (ulimit -n, {} kept for itself)",
            spec.concurrency,
            onslaught_engine::limits::RESERVED_FILES
        ));
    }
    Ok(spec)
}

/// A change of a running test's schedule, as its run applies it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateChange {
    /// When it takes effect, ms since the Unix epoch (on every driver of the test).
    pub effective_at_ms: u64,
    /// What changes.
    pub what: Change,
    /// Requests this driver sends in all from then on (its plan's count, if it has one; the
    /// deadline bounds the rest).
    pub count: Option<u64>,
}

/// What a [`RateChange`] changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change {
    /// The gap between the schedule's arrivals (all drivers' for a rate in total): `ADJUST`.
    Gap(Duration),
    /// This driver's stripe of the rest of a schedule in total: `TAKEOVER`.
    Stripe(Stripe),
    /// An avalanche's virtual users on this driver: `ADJUST` with `users` or `users_total`.
    Users(u64),
    /// This driver's stripe of a users curve in total from then on: `TAKEOVER`.
    UsersStripe(Stripe),
}

/// What a `TAKEOVER` trigger asks of driver `node_id` running `plan`: its new stripe of the
/// schedule (its place among the trigger's drivers), `Ok(None)` when it is not among them (it
/// was declared dead and replaced: it must stop), or why it cannot follow.
pub fn takeover(
    plan: &TestPlan,
    trigger: &Trigger,
    node_id: &str,
) -> Result<Option<RateChange>, String> {
    let users = match &plan.load {
        Load::Tsunami(schedule) if schedule.split() == Split::Total => false,
        Load::Ramping(users) if users.split() == Split::Total => true,
        Load::Tsunami(_) | Load::Ramping(_) => {
            return Err("the test's load is per driver: there is no share to take over".to_owned());
        }
        Load::Avalanche => {
            return Err("only a schedule or users in total are taken over".to_owned());
        }
    };
    let effective_at_ms = trigger
        .effective_at_ms
        .ok_or_else(|| "the takeover states no instant".to_owned())?;
    let Some(stripe) = stripe_of(&trigger.drivers, node_id) else {
        return Ok(None);
    };
    Ok(Some(RateChange {
        effective_at_ms,
        what: if users {
            Change::UsersStripe(stripe)
        } else {
            Change::Stripe(stripe)
        },
        count: plan.bound.requests(),
    }))
}

/// What an `ADJUST` trigger changes in the run of `plan` on driver `node_id`, or why this
/// driver cannot follow it. A rate must be given in the schedule's own split (`rate` for a rate
/// or gap per driver, `rate_total` for a rate in total), as the orchestrator sends it; users
/// only to an avalanche (`users_total` split among the trigger's drivers by stripe).
pub fn load_change(
    plan: &TestPlan,
    trigger: &Trigger,
    node_id: &str,
) -> Result<RateChange, String> {
    if trigger.users.is_some() || trigger.users_total.is_some() {
        return users_change(plan, trigger, node_id);
    }
    let Load::Tsunami(schedule) = &plan.load else {
        return Err("an avalanche has no rate to change".to_owned());
    };
    let per_second = match (schedule, trigger.rate, trigger.rate_total) {
        (Schedule::Gap(_) | Schedule::Rate(_), Some(rate), None)
        | (Schedule::RateTotal(_), None, Some(rate)) => rate,
        (Schedule::Stages(_) | Schedule::StagesTotal(_), ..) => {
            return Err("the test follows its stages: its rate does not change".to_owned());
        }
        _ => {
            return Err(format!(
                "the new rate is not given in the test's split ({:?})",
                schedule.split()
            ));
        }
    };
    let gap = Duration::try_from_secs_f64(1.0 / per_second)
        .ok()
        .filter(|gap| !gap.is_zero())
        .ok_or_else(|| format!("{per_second} requests per second is no rate"))?;
    let effective_at_ms = trigger
        .effective_at_ms
        .ok_or_else(|| "the change states no instant".to_owned())?;
    Ok(RateChange {
        effective_at_ms,
        what: Change::Gap(gap),
        count: plan.bound.requests(),
    })
}

/// What an `ADJUST` trigger with users changes in the run of avalanche `plan` on driver
/// `node_id`: its share of the users, or why it cannot follow.
fn users_change(plan: &TestPlan, trigger: &Trigger, node_id: &str) -> Result<RateChange, String> {
    if plan.load != Load::Avalanche {
        return Err("only an avalanche with constant users changes its users".to_owned());
    }
    let users = match (trigger.users, trigger.users_total) {
        (Some(users), None) => users,
        (None, Some(total)) => {
            let stripe = stripe_of(&trigger.drivers, node_id)
                .ok_or_else(|| "the users are split among other drivers".to_owned())?;
            stripe.share(total)
        }
        _ => return Err("the change gives no one number of users".to_owned()),
    };
    if users == 0 {
        return Err("the change leaves this driver no users".to_owned());
    }
    if let Some(limit) = onslaught_engine::limits::raise_open_files()
        && !onslaught_engine::limits::fits(users, limit)
    {
        return Err(format!(
            "{users} users need as many open files, beyond this driver's limit of {limit}"
        ));
    }
    let effective_at_ms = trigger
        .effective_at_ms
        .ok_or_else(|| "the change states no instant".to_owned())?;
    Ok(RateChange {
        effective_at_ms,
        what: Change::Users(users),
        count: plan.bound.requests(),
    })
}

/// A schedule's arrivals (all drivers' for one in total) and how many come before `deadline`.
fn arrivals(
    schedule: &Schedule,
    deadline: Option<Duration>,
) -> Result<(Arrivals, Option<u64>), String> {
    if let (Some(gap), Some(per_second)) = (schedule.gap(), schedule.per_second()) {
        let fit = deadline.map(|d| sends_before(d, per_second));
        return Ok((Arrivals::every(gap), fit));
    }
    let stages = schedule
        .stages()
        .ok_or_else(|| "the schedule has neither a rate nor stages".to_owned())?;
    let points: Vec<(Duration, f64)> = stages
        .ramps()
        .iter()
        .map(|r| (r.duration, r.target))
        .collect();
    let curve = Curve::new(&points).map_err(|e| format!("stages: {e}"))?;
    let fit = curve.count_before(deadline.unwrap_or(stages.duration()));
    Ok((Arrivals::curve(curve), Some(fit)))
}

/// How many sends a schedule of `per_second` fits in `duration_ms`: request `i` is intended at
/// `i / per_second` and is sent only when that is before the deadline, so exactly
/// `ceil(duration x rate)` go out (900 for 300/s over 3 s, not 901). Computed from the rate, not
/// from the interval rounded to whole nanoseconds, whose rounding would let one more in.
fn sends_before(duration: Duration, per_second: f64) -> u64 {
    let exact = duration.as_secs_f64() * per_second;
    let nearest = exact.round();
    let count = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    if count.is_finite() && count >= 0.0 {
        count as u64
    } else {
        u64::MAX
    }
}

/// Where one metrics message sits in a node's stream.
#[derive(Clone, Copy, Debug)]
pub struct Position<'a> {
    /// This node.
    pub node_id: &'a str,
    /// The test.
    pub test_id: &'a str,
    /// Sequence number, from 1.
    pub seq: u64,
    /// Whether this is the last message.
    pub is_final: bool,
    /// Interval bounds in ms since the test started on this driver.
    pub start_ms: u64,
    /// End of the interval.
    pub end_ms: u64,
    /// Why the run ended early, on a final message.
    pub stopped: Option<&'a str>,
    /// On a final message: from the run's start to its last send, and to the end of its last
    /// request.
    pub last_send: Option<Duration>,
    /// See `last_send`.
    pub last_response: Option<Duration>,
    /// Wall-clock time the run actually started, ms since the Unix epoch (None: it never did).
    pub started_at_ms: Option<u64>,
}

/// Builds the metrics message for one interval. `report_id` is derived from test, node and
/// sequence, so a message re-sent after a broker error keeps its id and is de-duplicated.
pub fn metrics(interval: &Measurements, at: Position<'_>) -> Metrics {
    let mut message = Metrics {
        protocol_version: PROTOCOL_VERSION,
        node_id: at.node_id.to_owned(),
        test_id: at.test_id.to_owned(),
        report_id: format!("{}:{}:{}", at.test_id, at.node_id, at.seq),
        seq: at.seq,
        is_final: at.is_final,
        interval_start_ms: at.start_ms,
        interval_end_ms: at.end_ms.max(at.start_ms),
        sent_at_ms: onslaught_protocol::now_ms(),
        started_at_ms: at.started_at_ms,
        stopped: at.stopped.map(str::to_owned),
        last_send_us: at.last_send.map(micros),
        last_response_us: at.last_response.map(micros),
        // Set from `interval` below, in the one place that knows the wire's encoding.
        metrics: Summary::default(),
        histogram: String::new(),
        service_histogram: String::new(),
        send_gap_histogram: None,
        send_lag_histogram: None,
        counters: Counters::default(),
        by_name: BTreeMap::new(),
        flows: BTreeMap::new(),
    };
    message.set_measurements(interval);
    message
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use onslaught_plan::TestRequest;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_schedule_sends_only_requests_intended_before_its_deadline() {
        assert_eq!(sends_before(ms(3_000), 300.0), 900);
        assert_eq!(sends_before(ms(3_000), 100.0), 300);
        assert_eq!(sends_before(ms(1_000), 3.0), 3);
        // 0, 1/3 and 2/3 s fall before 1 s; 1 s does not.
        assert_eq!(sends_before(ms(1_001), 3.0), 4);
        assert_eq!(sends_before(ms(2_500), 1.0), 3);
        assert_eq!(sends_before(ms(1_000), 1000.0 / 7.0), 143);
    }

    fn plan(change: impl FnOnce(&mut TestRequest)) -> TestPlan {
        let mut r = TestRequest::new("avalanche", "http://127.0.0.1:9/");
        r.method = "POST".to_owned();
        r.requests_per_driver = Some(1);
        r.concurrency = 1;
        r.timeout_ms = 1000;
        change(&mut r);
        TestPlan::try_from(r).unwrap()
    }

    #[test]
    fn a_base64_body_is_sent_as_its_bytes() {
        let spec = load_spec(
            &plan(|r| r.body_base64 = Some("/wCAfw==".to_owned())),
            Stripe::WHOLE,
        )
        .unwrap();
        assert_eq!(spec.request.body.as_ref(), [0xff, 0x00, 0x80, 0x7f]);
        assert_eq!(spec.request.method, http::Method::POST);
        // Not base64: the plan refuses it, naming the field (the driver never sees it).
        let mut r = TestRequest::new("avalanche", "http://127.0.0.1:9/");
        r.requests_per_driver = Some(1);
        r.body_base64 = Some("not base64!".to_owned());
        assert_eq!(TestPlan::try_from(r).unwrap_err().field, "body_base64");
    }

    #[test]
    fn users_in_total_give_each_driver_its_share_and_connections() {
        let total = plan(|r| {
            r.requests_per_driver = None;
            r.stages_total = vec![onslaught_plan::Stage {
                duration_ms: 1_000,
                target: 10.0,
            }];
        });
        let specs: Vec<LoadSpec> = (0..3)
            .map(|k| load_spec(&total, Stripe::new(k, 3).unwrap()).unwrap())
            .collect();
        assert_eq!(
            specs.iter().map(|s| s.concurrency).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        let at_end: u64 = specs
            .iter()
            .map(|s| match &s.mode {
                Mode::Ramping(users) => users.mine(ms(1_000)),
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(at_end, 10);
        assert_eq!(specs[0].duration, Some(ms(1_000)));
    }

    #[test]
    fn a_plan_becomes_one_engine_spec() {
        let spec = load_spec(
            &plan(|r| {
                r.test_type = "tsunami".to_owned();
                r.rate = Some(300.0);
                r.duration_ms = Some(3_000);
                r.requests_per_driver = Some(10_000);
                r.method = "purge".to_owned();
                r.headers = vec![onslaught_plan::Header {
                    name: "X-A".to_owned(),
                    value: " b ".to_owned(),
                }];
            }),
            Stripe::WHOLE,
        )
        .unwrap();
        assert_eq!(spec.requests, Some(900));
        assert_eq!(spec.duration, Some(ms(3_000)));
        assert_eq!(
            spec.mode,
            Mode::Scheduled(Arrivals::every(Duration::from_secs_f64(1.0 / 300.0)))
        );
        assert_eq!(spec.request.method.as_str(), "purge");
        assert_eq!(spec.request.headers["x-a"], "b");
        assert_eq!(spec.request.uri, "http://127.0.0.1:9/");
    }

    /// An `ADJUST` with users: each driver's own number, or its stripe's share of a total among
    /// the drivers the trigger names; refused for a test that is not an avalanche of constant
    /// users, or by a driver not among them.
    #[test]
    fn users_changes_give_each_driver_its_share() {
        let avalanche = plan(|r| r.requests_per_driver = Some(100));
        let mut trigger = Trigger::new("t", onslaught_protocol::TriggerAction::Adjust, 1_000);
        trigger.effective_at_ms = Some(2_000);
        trigger.users = Some(5);
        let change = load_change(&avalanche, &trigger, "b").unwrap();
        assert_eq!(change.what, Change::Users(5));
        assert_eq!((change.effective_at_ms, change.count), (2_000, Some(100)));
        trigger.users = None;
        trigger.users_total = Some(7);
        trigger.drivers = ["a", "b", "c"].map(str::to_owned).to_vec();
        let shares: Vec<Change> = ["a", "b", "c"]
            .iter()
            .map(|d| load_change(&avalanche, &trigger, d).unwrap().what)
            .collect();
        assert_eq!(
            shares,
            [Change::Users(3), Change::Users(2), Change::Users(2)]
        );
        assert!(load_change(&avalanche, &trigger, "z").is_err());
        let tsunami = plan(|r| {
            r.test_type = "tsunami".to_owned();
            r.rate = Some(10.0);
        });
        assert!(load_change(&tsunami, &trigger, "a").is_err());
    }

    /// A takeover gives a driver among those named its new stripe (of a schedule, or of users
    /// in total), stops one left out, and is refused by a test with nothing in total.
    #[test]
    fn a_takeover_widens_a_schedule_or_users_in_total() {
        let mut trigger = Trigger::new("t", onslaught_protocol::TriggerAction::Takeover, 1_000);
        trigger.effective_at_ms = Some(5_000);
        trigger.drivers = ["a", "c"].map(str::to_owned).to_vec();
        let second = Stripe::new(1, 2).unwrap();
        let rate_total = plan(|r| {
            r.test_type = "tsunami".to_owned();
            r.rate_total = Some(300.0);
        });
        let change = takeover(&rate_total, &trigger, "c").unwrap().unwrap();
        assert_eq!(
            (change.what, change.effective_at_ms),
            (Change::Stripe(second), 5_000)
        );
        assert_eq!(
            takeover(&rate_total, &trigger, "b"),
            Ok(None),
            "left out: it stops"
        );
        let users_total = plan(|r| {
            r.requests_per_driver = None;
            r.stages_total = vec![onslaught_plan::Stage {
                duration_ms: 10_000,
                target: 30.0,
            }];
        });
        let change = takeover(&users_total, &trigger, "c").unwrap().unwrap();
        assert_eq!(change.what, Change::UsersStripe(second));
        let per_driver = plan(|r| r.requests_per_driver = Some(10));
        assert!(takeover(&per_driver, &trigger, "a").is_err());
    }

    #[test]
    fn a_total_is_striped_and_a_per_driver_schedule_is_not() {
        let drivers: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
        assert_eq!(stripe_of(&drivers, "b"), Stripe::new(1, 3));
        assert_eq!(stripe_of(&drivers, "z"), None);
        let second = Stripe::new(1, 3).unwrap();
        // 1,000/s in total for 1 s: 334, 333 and 333; the second driver takes 1, 4, 7... ms.
        let total = load_spec(
            &plan(|r| {
                r.test_type = "tsunami".to_owned();
                r.rate_total = Some(1000.0);
                r.requests_per_driver = None;
                r.duration_ms = Some(1_000);
            }),
            second,
        )
        .unwrap();
        assert_eq!(total.requests, Some(333));
        assert_eq!(
            total.mode,
            Mode::Scheduled(Arrivals::every(ms(1)).striped(second))
        );
        // A ramp 0 -> 2,000 -> 0 over 30 s in total: its 30,000 arrivals, a third each.
        let ramp = |r: &mut TestRequest| {
            r.test_type = "tsunami".to_owned();
            r.requests_per_driver = None;
            r.stages_total = vec![
                onslaught_plan::Stage {
                    duration_ms: 15_000,
                    target: 2000.0,
                },
                onslaught_plan::Stage {
                    duration_ms: 15_000,
                    target: 0.0,
                },
            ];
        };
        let spec = load_spec(&plan(ramp), second).unwrap();
        assert_eq!(spec.requests, Some(10_000));
        assert_eq!(spec.duration, Some(ms(30_000)));
        let Mode::Scheduled(arrivals) = &spec.mode else {
            panic!("not scheduled")
        };
        assert_eq!(arrivals.stripe(), second);
        // The same curve per driver: every driver runs all of it.
        let per_driver = load_spec(
            &plan(|r| {
                ramp(r);
                r.stages = std::mem::take(&mut r.stages_total);
                r.duration_ms = Some(15_000);
            }),
            second,
        )
        .unwrap();
        assert_eq!(per_driver.requests, Some(15_000));
        let Mode::Scheduled(arrivals) = &per_driver.mode else {
            panic!("not scheduled")
        };
        assert_eq!(arrivals.stripe(), Stripe::WHOLE);
    }
}
