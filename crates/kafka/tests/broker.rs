//! `KafkaTransport` against a real Apache Kafka broker (started by `scripts/kafka-broker.sh`;
//! needs Java 17, and Maven once to fetch the jars).
//!
//! The tests share one broker; each uses its own topic prefix, so they run in parallel.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

mod support;

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::try_join_all;
use onslaught_kafka::{KafkaConfig, KafkaError, KafkaTransport, topics};
use onslaught_protocol::Topic;
use onslaught_transport::{Position, Subscription, Transport};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use support::Broker;

/// A config for `bootstrap` with a prefix of its own.
fn config(bootstrap: &str) -> KafkaConfig {
    support::init_tracing();
    let mut config = KafkaConfig::new(bootstrap);
    config.topic_prefix = format!("t{}.", uuid::Uuid::new_v4().simple());
    config.connect_timeout = Duration::from_secs(20);
    config
}

async fn connect() -> KafkaTransport {
    KafkaTransport::connect(config(&Broker::shared().bootstrap))
        .await
        .unwrap()
}

/// The next payload, failing the test after 10 s.
async fn recv(subscription: &mut Subscription) -> Bytes {
    tokio::time::timeout(Duration::from_secs(10), subscription.recv())
        .await
        .expect("no message within 10 s")
        .expect("subscription closed")
}

/// Nothing more arrives within `wait`.
async fn assert_quiet(subscription: &mut Subscription, wait: Duration) {
    if let Ok(extra) = tokio::time::timeout(wait, subscription.recv()).await {
        panic!("unexpected message {extra:?}");
    }
}

async fn publish(transport: &KafkaTransport, topic: Topic, key: &str, payload: &str) {
    transport
        .publish(topic, key, Bytes::from(payload.to_owned()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_five_topics_with_their_partition_counts() {
    let broker = Broker::shared();
    let config = config(&broker.bootstrap);
    let transport = KafkaTransport::connect(config.clone()).await.unwrap();
    // A second node finds them in place.
    let again = KafkaTransport::connect(config.clone()).await.unwrap();
    drop(again);

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    for topic in Topic::ALL {
        let name = transport.topic_name(topic);
        assert_eq!(name, format!("{}{}", config.topic_prefix, topic.name()));
        let found = metadata
            .topics()
            .iter()
            .find(|t| t.name() == name)
            .unwrap_or_else(|| panic!("topic {name} missing"));
        assert_eq!(
            found.partitions().len() as i32,
            topics::partitions(topic),
            "{name}"
        );
    }
}

/// On a single-threaded runtime too (`subscribe` positions the consumer off the runtime's thread).
#[tokio::test]
async fn a_published_message_reaches_a_subscription() {
    let transport = connect().await;
    let mut subscription = transport.subscribe(Topic::Register).await.unwrap();
    publish(&transport, Topic::Register, "driver-1", "hello").await;
    assert_eq!(recv(&mut subscription).await, "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscription_gets_every_message_in_key_order() {
    let transport = connect().await;
    let mut a = transport.subscribe(Topic::Metrics).await.unwrap();
    let mut b = transport.subscribe(Topic::Metrics).await.unwrap();
    let mut other_topic = transport.subscribe(Topic::Heartbeat).await.unwrap();
    let keys = ["node-a", "node-b", "node-c", "node-d"];
    for i in 0..60 {
        let key = keys[i % keys.len()];
        publish(&transport, Topic::Metrics, key, &format!("{key}/{i}")).await;
    }
    for subscription in [&mut a, &mut b] {
        let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
        for _ in 0..60 {
            let payload = String::from_utf8(recv(subscription).await.to_vec()).unwrap();
            let (key, i) = payload.split_once('/').unwrap();
            seen.entry(key.to_owned())
                .or_default()
                .push(i.parse().unwrap());
        }
        for (k, key) in keys.iter().enumerate() {
            let expected: Vec<usize> = (0..60).filter(|i| i % keys.len() == k).collect();
            assert_eq!(seen[*key], expected, "{key}");
        }
    }
    assert_quiet(&mut a, Duration::from_millis(300)).await;
    assert_quiet(&mut other_topic, Duration::from_millis(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_subscription_does_not_see_earlier_messages() {
    let transport = connect().await;
    let mut early = transport.subscribe(Topic::Trigger).await.unwrap();
    publish(&transport, Topic::Trigger, "test-1", "old trigger").await;
    assert_eq!(recv(&mut early).await, "old trigger");

    // A driver (re)starting now must not act on the old trigger.
    let mut late = transport.subscribe(Topic::Trigger).await.unwrap();
    publish(&transport, Topic::Trigger, "test-1", "new trigger").await;
    assert_eq!(recv(&mut late).await, "new trigger");
    assert_eq!(recv(&mut early).await, "new trigger");
    assert_quiet(&mut late, Duration::from_millis(300)).await;
}

/// What a restarted orchestrator does: note where a subscription began and where each message
/// sat, then subscribe again from those positions and get the same messages once more (the
/// earlier ones in each partition are not replayed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_from_positions_replays_what_was_published_since() {
    let transport = connect().await;
    let mut first = transport.subscribe(Topic::Metrics).await.unwrap();
    let starts = first.starts_at().to_vec();
    assert_eq!(starts.len(), topics::partitions(Topic::Metrics) as usize);
    publish(&transport, Topic::Metrics, "node-a", "before").await;
    let before = tokio::time::timeout(Duration::from_secs(10), first.next())
        .await
        .unwrap()
        .unwrap();
    let at = before
        .position
        .expect("Kafka deliveries carry their position");
    assert_eq!(before.payload, "before");
    // Resume right after `before` in its partition; the others from where `first` began.
    let from: Vec<Position> = starts
        .iter()
        .map(|p| {
            if p.partition == at.partition {
                Position {
                    partition: at.partition,
                    offset: at.offset + 1,
                }
            } else {
                *p
            }
        })
        .collect();
    for i in 0..5 {
        publish(
            &transport,
            Topic::Metrics,
            &format!("node-{i}"),
            &format!("m{i}"),
        )
        .await;
    }
    let mut replay = transport
        .subscribe_from(Topic::Metrics, from)
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let delivery = tokio::time::timeout(Duration::from_secs(10), replay.next())
            .await
            .expect("no replayed message within 10 s")
            .unwrap();
        assert!(delivery.position.is_some());
        got.push(String::from_utf8(delivery.payload.to_vec()).unwrap());
    }
    got.sort();
    assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
    assert_quiet(&mut replay, Duration::from_millis(300)).await;
    // And it goes on with what is published after.
    publish(&transport, Topic::Metrics, "node-a", "after").await;
    assert_eq!(recv(&mut replay).await, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_published_right_after_subscribe_is_received() {
    let transport = connect().await;
    for (round, topic) in Topic::ALL.into_iter().enumerate() {
        let mut subscription = transport.subscribe(topic).await.unwrap();
        let payload = format!("right away {round}");
        publish(&transport, topic, "k", &payload).await;
        assert_eq!(recv(&mut subscription).await, payload, "{topic}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_from_ten_nodes_arrive_once_in_order_per_node() {
    let transport = connect().await;
    let mut subscription = transport.subscribe(Topic::Metrics).await.unwrap();
    let started = Instant::now();
    // Handed to librdkafka one after another, acknowledged together.
    let mut deliveries = Vec::new();
    for seq in 0..100 {
        for node in 0..10 {
            let payload = Bytes::from(format!("node-{node}/{seq}"));
            deliveries.push(transport.publish(Topic::Metrics, &format!("node-{node}"), payload));
        }
    }
    try_join_all(deliveries).await.unwrap();
    let published = started.elapsed();

    let mut next: HashMap<String, usize> = HashMap::new();
    for _ in 0..1000 {
        let payload = String::from_utf8(recv(&mut subscription).await.to_vec()).unwrap();
        let (node, seq) = payload.split_once('/').unwrap();
        let expected = next.entry(node.to_owned()).or_default();
        assert_eq!(seq.parse::<usize>().unwrap(), *expected, "{node}");
        *expected += 1;
    }
    eprintln!(
        "1000 messages: published in {published:?}, received in {:?}",
        started.elapsed()
    );
    assert_eq!(next.len(), 10);
    assert!(next.values().all(|&n| n == 100));
    assert_quiet(&mut subscription, Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_transport_closes_its_subscriptions() {
    let transport = connect().await;
    let mut subscription = transport.subscribe(Topic::Heartbeat).await.unwrap();
    drop(transport);
    let end = tokio::time::timeout(Duration::from_secs(5), subscription.recv()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_a_stopped_broker_fails_within_the_message_timeout() {
    let broker = Broker::start();
    let mut config = config(&broker.bootstrap);
    config
        .extra
        .push(("message.timeout.ms".to_owned(), "2000".to_owned()));
    let transport = KafkaTransport::connect(config).await.unwrap();
    publish(&transport, Topic::Heartbeat, "node-1", "alive").await;

    broker.stop();
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        transport.publish(Topic::Heartbeat, "node-1", Bytes::from_static(b"anyone?")),
    )
    .await
    .expect("publish hangs");
    let took = started.elapsed();
    assert!(result.is_err(), "{result:?}");
    assert!(took < Duration::from_secs(5), "failed only after {took:?}");
    eprintln!("publish failed after {took:?}: {}", result.unwrap_err());
}

/// Positioning a subscription waits on the broker off the async workers: on a single-threaded
/// runtime, a timer task keeps ticking while `subscribe` retries against a stopped broker, and
/// `subscribe` gives up within its bound.
#[tokio::test]
async fn subscribing_to_a_stopped_broker_fails_in_time_without_blocking_the_runtime() {
    let broker = Broker::start();
    let mut config = config(&broker.bootstrap);
    config.connect_timeout = Duration::from_secs(2);
    let transport = KafkaTransport::connect(config).await.unwrap();
    broker.stop();

    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = std::sync::Arc::clone(&ticks);
        async move {
            let mut every = tokio::time::interval(Duration::from_millis(50));
            loop {
                every.tick().await;
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(15), transport.subscribe(Topic::Trigger))
        .await
        .expect("subscribe hangs");
    let took = started.elapsed();
    ticker.abort();
    let ticks = ticks.load(std::sync::atomic::Ordering::Relaxed);
    assert!(result.is_err(), "subscribed to a stopped broker");
    assert!(took < Duration::from_secs(5), "failed only after {took:?}");
    // One tick per 50 ms while subscribe waited; a blocked thread would allow at most one.
    let expected = u64::try_from(took.as_millis() / 50 / 2).unwrap_or(0).max(5);
    assert!(
        ticks >= expected,
        "{ticks} ticks in {took:?}: the runtime was blocked"
    );
    eprintln!("subscribe failed after {took:?} ({ticks} ticks)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_reports_an_unreachable_broker() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = config(&format!("127.0.0.1:{port}"));
    config.connect_timeout = Duration::from_millis(1500);
    let started = Instant::now();
    let error = KafkaTransport::connect(config).await.unwrap_err();
    assert!(matches!(error, KafkaError::Unreachable { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    eprintln!("{error}");
}
