//! Round-trip and malformed-input tests for every message of the protocol.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use onslaught_plan::{Header, TestPlan, TestRequest};
use onslaught_protocol::messages::DRIVER_NODE_REGISTER;
use onslaught_protocol::wire_stats::{FlowMetrics, NamedMetrics, encode_histogram};
use onslaught_protocol::*;
use onslaught_stats::{Counters, ErrorKind, Histogram, Iterations, Measurements};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:-]{1,40}"
}

fn register() -> impl Strategy<Value = Register> {
    (id(), "[a-z0-9.]{1,20}:[0-9]{1,5}", any::<u64>()).prop_map(|(node_id, node_ip, ts)| Register {
        protocol_version: PROTOCOL_VERSION,
        node_id,
        node_ip,
        message_type: DRIVER_NODE_REGISTER.to_owned(),
        timestamp_ms: ts,
    })
}

fn test_config() -> impl Strategy<Value = TestConfig> {
    (
        id(),
        prop_oneof![Just("avalanche"), Just("tsunami")],
        1u32..10_000,
        prop::option::of(1u64..10_000_000),
        prop::option::of(1.0f64..100_000.0),
        1u32..1000,
        prop::collection::vec(id(), 1..8),
        prop::option::of(".{0,64}"),
    )
        .prop_map(
            |(test_id, test_type, delay_us, count, rps, concurrency, drivers, body)| {
                let mut r = TestRequest::new(test_type, "http://127.0.0.1:8080/ping");
                r.method = "POST".to_owned();
                r.headers = vec![Header {
                    name: "x-a".to_owned(),
                    value: "b".to_owned(),
                }];
                r.body = body;
                if test_type == "tsunami" {
                    r.delay_ms = rps.is_none().then(|| f64::from(delay_us) / 1000.0);
                    r.rate = rps;
                }
                r.requests_per_driver = count;
                r.duration_ms = if count.is_none() { Some(1000) } else { None };
                r.concurrency = concurrency;
                r.timeout_ms = 5000;
                let mut config = TestConfig::new(&test_id, TestPlan::try_from(r).unwrap(), drivers);
                config.issued_at_ms = 1;
                config
            },
        )
}

fn trigger() -> impl Strategy<Value = Trigger> {
    (
        id(),
        prop_oneof![
            Just(TriggerAction::Start),
            Just(TriggerAction::Stop),
            Just(TriggerAction::Adjust),
            Just(TriggerAction::Takeover)
        ],
        any::<u64>(),
        1.0f64..1_000_000.0,
    )
        .prop_map(|(test_id, trigger, at, rate)| {
            let driver_of = |at: u64| format!("driver-{}", at % 7);
            let adjust = trigger == TriggerAction::Adjust;
            let takeover = trigger == TriggerAction::Takeover;
            Trigger {
                protocol_version: PROTOCOL_VERSION,
                test_id,
                trigger,
                start_at_ms: at,
                rate: (adjust && at % 4 == 0).then_some(rate),
                rate_total: (adjust && at % 4 == 1).then_some(rate),
                users: (adjust && at % 4 == 2).then_some((rate as u64).clamp(1, 100_000)),
                users_total: (adjust && at % 4 == 3).then_some(rate as u64 + 1),
                effective_at_ms: (adjust || takeover).then_some(at / 2),
                drivers: if takeover || (adjust && at % 4 == 3) {
                    vec!["d1".into(), driver_of(at)]
                } else {
                    Vec::new()
                },
                issued_at_ms: at,
                epoch: (at % 3 != 0).then_some(at / 3),
                signature: Some("c2ln".into()),
            }
        })
}

fn metrics() -> impl Strategy<Value = Metrics> {
    (
        id(),
        id(),
        id(),
        1u64..1_000_000,
        any::<bool>(),
        prop::collection::vec(1u64..60_000_000, 0..100),
        prop::collection::vec(100u16..600, 0..20),
    )
        .prop_map(
            |(node_id, test_id, report_id, seq, is_final, samples, codes)| {
                let mut h = Histogram::new();
                for s in &samples {
                    h.record_micros(*s);
                }
                let mut c = Counters::default();
                c.requests_sent = samples.len() as u64;
                c.responses_received = codes.len() as u64;
                for code in codes {
                    c.status(code);
                }
                c.error(ErrorKind::Timeout);
                Metrics {
                    protocol_version: PROTOCOL_VERSION,
                    node_id,
                    test_id,
                    report_id,
                    seq,
                    is_final,
                    interval_start_ms: seq * 1000,
                    interval_end_ms: seq * 1000 + 1000,
                    sent_at_ms: seq,
                    started_at_ms: (seq % 2 == 0).then_some(seq + 7),
                    stopped: is_final.then(|| "stopped by the orchestrator".to_owned()),
                    last_send_us: is_final.then_some(seq * 1000),
                    last_response_us: is_final.then_some(seq * 1000 + 7),
                    metrics: h.summary(),
                    histogram: encode_histogram(&h),
                    service_histogram: encode_histogram(&h),
                    send_gap_histogram: if is_final {
                        None
                    } else {
                        Some(encode_histogram(&h))
                    },
                    send_lag_histogram: if is_final {
                        None
                    } else {
                        Some(encode_histogram(&h))
                    },
                    by_name: if seq % 3 == 0 {
                        let mut part = Measurements::default();
                        part.latency = h.clone();
                        part.counters = c.clone();
                        ["item", "login"]
                            .into_iter()
                            .map(|n| (n.to_owned(), NamedMetrics::of(&part)))
                            .collect()
                    } else {
                        BTreeMap::new()
                    },
                    flows: if seq % 3 == 0 {
                        let flow = Iterations {
                            started: seq,
                            completed: seq / 2,
                            interrupted: 1,
                            dropped: 2,
                            duration: h.clone(),
                        };
                        BTreeMap::from([("buy".to_owned(), FlowMetrics::of(&flow))])
                    } else {
                        BTreeMap::new()
                    },
                    counters: c,
                }
            },
        )
}

fn heartbeat() -> impl Strategy<Value = Heartbeat> {
    (
        id(),
        prop_oneof![Just(Role::Driver), Just(Role::Orchestrator)],
        prop_oneof![
            Just(NodeState::Idle),
            Just(NodeState::Configured),
            Just(NodeState::Running),
            Just(NodeState::Finished),
            Just(NodeState::Rejected)
        ],
        prop::option::of(id()),
    )
        .prop_map(|(node_id, role, state, test_id)| {
            let mut hb = Heartbeat::new(
                &node_id,
                role,
                HeartbeatState {
                    state,
                    test_id,
                    reason: None,
                },
            );
            hb.info.insert("requests_sent".to_owned(), 7);
            hb
        })
}

fn round_trips<M: Message + PartialEq + std::fmt::Debug>(m: &M) {
    let bytes = encode(m);
    let back: M =
        decode(&bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(&back, m);
}

/// Every prefix, and every single-byte corruption, is either rejected or decodes: never a panic.
fn survives_damage<M: Message>(m: &M, flip: usize) {
    let bytes = encode(m);
    for cut in [0, 1, bytes.len() / 2, bytes.len().saturating_sub(1)] {
        assert!(decode::<M>(&bytes[..cut]).is_err());
    }
    let mut damaged = bytes.clone();
    let at = flip % damaged.len();
    damaged[at] ^= 0x5a;
    let _ = decode::<M>(&damaged);
}

/// `decode_metrics` accepts exactly what `decode` accepts, and its measurements are the
/// message's.
fn metrics_decoders_agree(bytes: &[u8]) {
    match (decode::<Metrics>(bytes), decode_metrics(bytes)) {
        (Ok(plain), Ok((message, histograms))) => {
            assert_eq!(plain, message);
            let again = plain.measurements().unwrap();
            assert_eq!(histograms.counters, again.counters);
            assert_eq!(histograms.latency.encode(), again.latency.encode());
            assert_eq!(histograms.service.encode(), again.service.encode());
            assert_eq!(
                histograms.send_gaps.map(|h| h.encode()),
                again.send_gaps.map(|h| h.encode())
            );
            assert_eq!(
                histograms.send_lag.map(|h| h.encode()),
                again.send_lag.map(|h| h.encode())
            );
            assert_eq!(histograms.by_name, again.by_name);
            assert_eq!(histograms.flows, again.flows);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("decode: {:?}, decode_metrics: {:?}", a.err(), b.err()),
    }
}

proptest! {
    #[test]
    fn metrics_decode_once_agrees(m in metrics(), f in any::<usize>()) {
        let bytes = encode(&m);
        metrics_decoders_agree(&bytes);
        let mut damaged = bytes.clone();
        let at = f % damaged.len();
        damaged[at] ^= 0x5a;
        metrics_decoders_agree(&damaged);
        metrics_decoders_agree(&bytes[..bytes.len() / 2]);
    }
    #[test] fn register_round_trips(m in register(), f in any::<usize>()) { round_trips(&m); survives_damage(&m, f); }
    #[test] fn test_config_round_trips(m in test_config(), f in any::<usize>()) { round_trips(&m); survives_damage(&m, f); }
    #[test] fn trigger_round_trips(m in trigger(), f in any::<usize>()) { round_trips(&m); survives_damage(&m, f); }
    #[test] fn metrics_round_trips(m in metrics(), f in any::<usize>()) { round_trips(&m); survives_damage(&m, f); }
    #[test] fn heartbeat_round_trips(m in heartbeat(), f in any::<usize>()) { round_trips(&m); survives_damage(&m, f); }

    #[test]
    fn random_bytes_are_rejected_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode::<Register>(&bytes);
        let _ = decode::<TestConfig>(&bytes);
        let _ = decode::<Trigger>(&bytes);
        let _ = decode::<Metrics>(&bytes);
        let _ = decode::<Heartbeat>(&bytes);
    }

    #[test]
    fn random_json_values_are_rejected_without_panic(s in "\\{(\"[a-z_]{1,12}\":(\"[^\"]{0,8}\"|[0-9]{1,6}|null|true),){0,6}\"x\":1\\}") {
        let _ = decode::<TestConfig>(s.as_bytes());
        let _ = decode::<Metrics>(s.as_bytes());
    }
}

#[test]
fn accepts_the_assignments_shapes() {
    let register: Register = decode(
        br#"{"node_id":"d1","node_IP":"10.0.0.1:9000","message_type":"DRIVER_NODE_REGISTER"}"#,
    )
    .unwrap();
    assert_eq!(register.node_ip, "10.0.0.1:9000");
    assert_eq!(register.protocol_version, 1);
    let trigger: Trigger = decode(br#"{"test_id":"t1","trigger":"YES"}"#).unwrap();
    assert_eq!(trigger.trigger, TriggerAction::Start);
    let heartbeat: Heartbeat =
        decode(br#"{"node_id":"d1","heartbeat":"YES","timestamp":"1700000000000","state":"idle"}"#)
            .unwrap();
    assert_eq!(heartbeat.role, Role::Driver);
}

/// A plan in its JSON form: avalanche, 5 requests.
const PLAN_AVALANCHE: &str =
    r#"{"test_type":"avalanche","url":"http://127.0.0.1/","requests_per_driver":5}"#;
/// A plan in its JSON form: tsunami every 10 ms, 5 requests.
const PLAN_TSUNAMI: &str =
    r#"{"test_type":"tsunami","url":"http://127.0.0.1/","delay_ms":10,"requests_per_driver":5}"#;

#[test]
fn a_config_whose_plan_does_not_validate_is_malformed_and_names_the_field() {
    let bad = r#"{"test_id":"t","test_type":"AVALANCHE","message_count_per_driver":5,"plan":{"test_type":"avalanche","url":"ftp://x/","requests_per_driver":5},"drivers":["d"]}"#;
    assert!(
        matches!(decode::<TestConfig>(bad.as_bytes()), Err(DecodeError::Malformed(m)) if m.contains("url"))
    );
}

#[test]
fn test_type_is_case_insensitive_and_serializes_upper_case() {
    for (text, expected) in [
        ("avalanche", TestType::Avalanche),
        ("Tsunami", TestType::Tsunami),
        ("TSUNAMI", TestType::Tsunami),
    ] {
        let plan = if expected == TestType::Tsunami {
            PLAN_TSUNAMI
        } else {
            PLAN_AVALANCHE
        };
        let delay = if expected == TestType::Tsunami { 10 } else { 0 };
        let json = format!(
            r#"{{"test_id":"t","test_type":"{text}","test_message_delay":{delay},"message_count_per_driver":5,"plan":{plan},"drivers":["d"]}}"#
        );
        let config: TestConfig = decode(json.as_bytes()).unwrap();
        assert_eq!(config.test_type, expected);
        assert!(
            String::from_utf8(encode(&config))
                .unwrap()
                .contains(expected.as_str())
        );
    }
    let bad = format!(
        r#"{{"test_id":"t","test_type":"BLIZZARD","message_count_per_driver":5,"plan":{PLAN_AVALANCHE},"drivers":["d"]}}"#
    );
    assert!(
        matches!(decode::<TestConfig>(bad.as_bytes()), Err(DecodeError::Malformed(m)) if m.contains("BLIZZARD"))
    );
}

#[test]
fn rejects_oversized_future_and_invalid_messages() {
    let huge = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        decode::<Heartbeat>(&huge),
        Err(DecodeError::TooLarge { .. })
    ));

    let future = br#"{"protocol_version":99,"test_id":"t","trigger":"YES"}"#;
    assert!(matches!(
        decode::<Trigger>(future),
        Err(DecodeError::UnsupportedVersion(99))
    ));

    let empty_id = br#"{"test_id":"","trigger":"YES"}"#;
    assert!(matches!(
        decode::<Trigger>(empty_id),
        Err(DecodeError::Invalid {
            field: "test_id",
            ..
        })
    ));

    // An action this build does not know (as ADJUST is to a driver that predates it) is a
    // malformed message: refused and counted by the driver, never acted on.
    let unknown_action = br#"{"test_id":"t","trigger":"RESIZE","rate":5.0}"#;
    assert!(matches!(
        decode::<Trigger>(unknown_action),
        Err(DecodeError::Malformed(_))
    ));
    // ADJUST carries exactly one rate, in range, and when it takes effect; no other action
    // carries a rate.
    for (bad, field) in [
        (&br#"{"test_id":"t","trigger":"ADJUST","rate":5.0}"#[..], "effective_at_ms"),
        (br#"{"test_id":"t","trigger":"ADJUST","effective_at_ms":9}"#, "rate"),
        (
            br#"{"test_id":"t","trigger":"ADJUST","rate":5.0,"rate_total":5.0,"effective_at_ms":9}"#,
            "rate_total",
        ),
        // Users: one number in bounds; a total names the drivers that split it, no other does.
        (
            br#"{"test_id":"t","trigger":"ADJUST","rate":5.0,"users":5,"effective_at_ms":9}"#,
            "users",
        ),
        (br#"{"test_id":"t","trigger":"ADJUST","users":0,"effective_at_ms":9}"#, "users"),
        (
            br#"{"test_id":"t","trigger":"ADJUST","users_total":5,"effective_at_ms":9}"#,
            "drivers",
        ),
        (
            br#"{"test_id":"t","trigger":"ADJUST","users":5,"drivers":["d1"],"effective_at_ms":9}"#,
            "drivers",
        ),
        (br#"{"test_id":"t","trigger":"STOP","users":5}"#, "users"),
        (br#"{"test_id":"t","trigger":"ADJUST","rate":0.0,"effective_at_ms":9}"#, "rate"),
        (
            br#"{"test_id":"t","trigger":"ADJUST","rate_total":1e300,"effective_at_ms":9}"#,
            "rate_total",
        ),
        (br#"{"test_id":"t","trigger":"STOP","rate":5.0}"#, "rate"),
        // TAKEOVER names the drivers left, each a valid id, and when; no other action does.
        (
            br#"{"test_id":"t","trigger":"TAKEOVER","drivers":["d1"]}"#,
            "effective_at_ms",
        ),
        (
            br#"{"test_id":"t","trigger":"TAKEOVER","effective_at_ms":9}"#,
            "drivers",
        ),
        (
            br#"{"test_id":"t","trigger":"TAKEOVER","drivers":["d 1"],"effective_at_ms":9}"#,
            "drivers",
        ),
        (
            br#"{"test_id":"t","trigger":"TAKEOVER","drivers":["d1"],"rate":5.0,"effective_at_ms":9}"#,
            "rate",
        ),
        (
            br#"{"test_id":"t","trigger":"ADJUST","rate":5.0,"drivers":["d1"],"effective_at_ms":9}"#,
            "drivers",
        ),
    ] {
        match decode::<Trigger>(bad) {
            Err(DecodeError::Invalid { field: f, .. }) => {
                assert_eq!(f, field, "{}", String::from_utf8_lossy(bad));
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
    let adjust: Trigger =
        decode(br#"{"test_id":"t","trigger":"ADJUST","rate_total":900,"effective_at_ms":9}"#)
            .unwrap();
    assert_eq!(adjust.trigger, TriggerAction::Adjust);
    assert_eq!(
        (adjust.rate, adjust.rate_total, adjust.effective_at_ms),
        (None, Some(900.0), Some(9))
    );

    let takeover: Trigger = decode(
        br#"{"test_id":"t","trigger":"TAKEOVER","drivers":["d1","d3"],"effective_at_ms":9}"#,
    )
    .unwrap();
    assert_eq!(takeover.drivers, ["d1", "d3"]);

    let wrong_type = br#"{"node_id":"d1","node_IP":5,"message_type":"DRIVER_NODE_REGISTER"}"#;
    assert!(matches!(
        decode::<Register>(wrong_type),
        Err(DecodeError::Malformed(_))
    ));

    // The assignment's fields must say what the plan says.
    let no_bound = format!(
        r#"{{"test_id":"t","test_type":"AVALANCHE","plan":{PLAN_AVALANCHE},"drivers":["d"]}}"#
    );
    assert!(matches!(
        decode::<TestConfig>(no_bound.as_bytes()),
        Err(DecodeError::Invalid {
            field: "message_count_per_driver",
            ..
        })
    ));

    let tsunami_without_gap = format!(
        r#"{{"test_id":"t","test_type":"TSUNAMI","message_count_per_driver":5,"plan":{PLAN_TSUNAMI},"drivers":["d"]}}"#
    );
    assert!(matches!(
        decode::<TestConfig>(tsunami_without_gap.as_bytes()),
        Err(DecodeError::Invalid {
            field: "test_message_delay",
            ..
        })
    ));
}

#[test]
fn metrics_with_a_corrupt_histogram_are_rejected() {
    let mut h = Histogram::new();
    h.record_micros(1500);
    let m = Metrics {
        protocol_version: 1,
        node_id: "d".into(),
        test_id: "t".into(),
        report_id: "r".into(),
        seq: 1,
        is_final: false,
        interval_start_ms: 0,
        interval_end_ms: 1000,
        sent_at_ms: 0,
        started_at_ms: None,
        stopped: None,
        last_send_us: None,
        last_response_us: None,
        metrics: h.summary(),
        histogram: "!!not base64!!".into(),
        service_histogram: encode_histogram(&h),
        send_gap_histogram: None,
        send_lag_histogram: None,
        counters: Counters::default(),
        by_name: BTreeMap::new(),
        flows: BTreeMap::new(),
    };
    assert!(matches!(
        decode::<Metrics>(&encode(&m)),
        Err(DecodeError::Invalid {
            field: "histogram",
            ..
        })
    ));
    metrics_decoders_agree(&encode(&m));
    let mut ok = m.clone();
    ok.histogram = encode_histogram(&h);
    // Status codes are typed: a key that is not a status cannot be built, only sent as JSON.
    let mut bad_code: serde_json::Value = serde_json::from_slice(&encode(&ok)).unwrap();
    bad_code["counters"]["status_codes"]["abc"] = 1.into();
    let bad_code = serde_json::to_vec(&bad_code).unwrap();
    assert!(matches!(
        decode::<Metrics>(&bad_code),
        Err(DecodeError::Malformed(reason)) if reason.contains("`abc` is not an HTTP status")
    ));
    let back: Metrics = decode(&encode(&ok)).unwrap();
    assert_eq!(back.measurements().unwrap().latency.len(), 1);
    metrics_decoders_agree(&bad_code);
    metrics_decoders_agree(&encode(&ok));
    let (_, histograms) = decode_metrics(&encode(&ok)).unwrap();
    assert_eq!(histograms.latency.len(), 1);
}

/// The `metrics` field carries the assignment's names, in ms, derived from the latency summary,
/// and reads back to the same summary.
#[test]
fn metrics_carry_the_assignments_latency_names() {
    let mut measured = onslaught_stats::Measurements::default();
    for us in [1_000, 2_000, 3_000, 10_000] {
        measured.latency.record_micros(us);
    }
    measured.counters.requests_sent = 4;
    let mut m = Metrics {
        protocol_version: 1,
        node_id: "d".into(),
        test_id: "t".into(),
        report_id: "r".into(),
        seq: 1,
        is_final: false,
        interval_start_ms: 0,
        interval_end_ms: 1000,
        sent_at_ms: 0,
        started_at_ms: None,
        stopped: None,
        last_send_us: None,
        last_response_us: None,
        metrics: onslaught_stats::Summary::default(),
        histogram: String::new(),
        service_histogram: String::new(),
        send_gap_histogram: None,
        send_lag_histogram: None,
        counters: Counters::default(),
        by_name: BTreeMap::new(),
        flows: BTreeMap::new(),
    };
    m.set_measurements(&measured);
    let json: serde_json::Value = serde_json::from_slice(&encode(&m)).unwrap();
    let metrics = &json["metrics"];
    assert_eq!(metrics["count"], 4);
    assert_eq!(metrics["min_latency"], 1.0);
    let summary = measured.latency.summary();
    assert_eq!(metrics["max_latency"], summary.max);
    assert!((summary.max - 10.0).abs() < 0.01, "{summary:?}");
    assert_eq!(metrics["mean_latency"], summary.mean);
    assert_eq!(metrics["median_latency"], 2.0);
    assert!(metrics.get("mean").is_none(), "{metrics}");
    let back: Metrics = decode(&encode(&m)).unwrap();
    assert_eq!(back.metrics, measured.latency.summary());
    assert_eq!(back.measurements().unwrap().counters.requests_sent, 4);
}

/// A metrics message of one interval of a test of two named requests and a flow.
fn named_interval() -> Measurements {
    let mut measured = Measurements::default();
    for (name, samples, status) in [
        ("login", [800u64, 1_200, 30_000], 200u16),
        ("item", [5_000, 7_000, 9_000], 404),
    ] {
        let part = measured.by_name.entry(name.to_owned()).or_default();
        for us in samples {
            part.latency.record_micros(us);
            part.service.record_micros(us / 2);
            part.counters.requests_sent += 1;
            part.counters.responses_received += 1;
            part.counters.status(status);
            measured.latency.record_micros(us);
            measured.service.record_micros(us / 2);
        }
        part.counters.check_passed();
        part.counters.check_failed("status");
        measured.counters.add(&part.counters.clone());
    }
    let buy = measured.flows.entry("buy".to_owned()).or_default();
    buy.started = 3;
    buy.completed = 2;
    buy.interrupted = 1;
    buy.dropped = 4;
    buy.duration.record_micros(50_000);
    buy.duration.record_micros(70_000);
    measured
}

fn empty_metrics() -> Metrics {
    Metrics {
        protocol_version: 1,
        node_id: "d".into(),
        test_id: "t".into(),
        report_id: "r".into(),
        seq: 1,
        is_final: false,
        interval_start_ms: 0,
        interval_end_ms: 1000,
        sent_at_ms: 0,
        started_at_ms: None,
        stopped: None,
        last_send_us: None,
        last_response_us: None,
        metrics: onslaught_stats::Summary::default(),
        histogram: String::new(),
        service_histogram: String::new(),
        send_gap_histogram: None,
        send_lag_histogram: None,
        counters: Counters::default(),
        by_name: BTreeMap::new(),
        flows: BTreeMap::new(),
    }
}

/// Per-name histograms and counters and per-flow iterations travel exactly, and are absent from
/// the message of a test of one request (the assignment's shape stays as it was).
#[test]
fn per_name_measurements_round_trip_exactly() {
    let measured = named_interval();
    let mut m = empty_metrics();
    m.set_measurements(&measured);
    let bytes = encode(&m);
    let (_, back) = decode_metrics(&bytes).unwrap();
    assert_eq!(back, measured);
    assert_eq!(
        back.by_name["login"].latency.max_micros(),
        measured.by_name["login"].latency.max_micros()
    );
    assert_eq!(back.flows["buy"].dropped, 4);
    metrics_decoders_agree(&bytes);
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        json["by_name"]["item"]["counters"]["status_codes"]["404"],
        3
    );
    assert_eq!(json["by_name"]["login"]["counters"]["checks_failed"], 1);
    assert_eq!(json["flows"]["buy"]["completed"], 2);

    let mut plain = empty_metrics();
    let mut one = Measurements::default();
    one.latency.record_micros(1_000);
    plain.set_measurements(&one);
    let json: serde_json::Value = serde_json::from_slice(&encode(&plain)).unwrap();
    assert!(
        json.get("by_name").is_none() && json.get("flows").is_none(),
        "{json}"
    );
    let fields = json.as_object().unwrap();
    assert!(fields.keys().all(|k| !k.contains("check")), "{json}");
}

/// A message whose per-name parts are malformed or unbounded is refused like any invalid one.
#[test]
fn malformed_per_name_parts_are_rejected() {
    let mut m = empty_metrics();
    m.set_measurements(&named_interval());
    let invalid = |m: &Metrics, field: &str| {
        let bytes = encode(m);
        metrics_decoders_agree(&bytes);
        match decode::<Metrics>(&bytes) {
            Err(DecodeError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected `{field}` invalid, got {other:?}"),
        }
    };
    let mut bad = m.clone();
    bad.by_name.get_mut("item").unwrap().histogram = "!!".into();
    invalid(&bad, "by_name.histogram");
    let mut bad = m.clone();
    bad.by_name.get_mut("item").unwrap().service_histogram = "AAAA".into();
    invalid(&bad, "by_name.service_histogram");
    let mut bad = m.clone();
    bad.flows.get_mut("buy").unwrap().duration_histogram = "!!".into();
    invalid(&bad, "flows.duration_histogram");
    let mut bad = m.clone();
    let part = bad.by_name["item"].clone();
    bad.by_name
        .insert("x".repeat(wire_stats::MAX_NAME_BYTES + 1), part);
    invalid(&bad, "by_name");
    let mut bad = m.clone();
    let part = bad.by_name["item"].clone();
    for i in 0..=wire_stats::MAX_NAMES {
        bad.by_name.insert(format!("n{i}"), part.clone());
    }
    invalid(&bad, "by_name");
    let mut bad = m.clone();
    let flow = bad.flows["buy"].clone();
    bad.flows
        .insert("y".repeat(wire_stats::MAX_NAME_BYTES + 1), flow);
    invalid(&bad, "flows");
    let mut bad = m.clone();
    let counters = &mut bad.by_name.get_mut("item").unwrap().counters;
    for i in 0..40 {
        counters.failed_checks.insert(format!("c{i}"), 1);
    }
    invalid(&bad, "counters.failed_checks");
    // A message without the optional parts is still accepted (older drivers, one request).
    let mut json: serde_json::Value = serde_json::from_slice(&encode(&m)).unwrap();
    let fields = json.as_object_mut().unwrap();
    fields.remove("by_name");
    fields.remove("flows");
    let back: Metrics = decode(&serde_json::to_vec(&json).unwrap()).unwrap();
    assert!(back.by_name.is_empty() && back.measurements().unwrap().by_name.is_empty());
}
