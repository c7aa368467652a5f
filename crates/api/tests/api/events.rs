//! The event stream over a real socket, read with a tiny HTTP/1.1 client: a `nodes` event
//! within a second, `test` events while a test runs and a final one when it ends, and the
//! stream closing when the server shuts down.

use std::time::Duration;

use axum::http::StatusCode;
use onslaught_api::ApiOptions;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::schema::assert_valid;
use crate::support::Harness;

/// One Server-Sent Event.
#[derive(Debug)]
struct Event {
    name: String,
    data: String,
}

/// Reads events from a chunked HTTP/1.1 response.
struct EventReader {
    stream: BufReader<TcpStream>,
    /// Decoded body text not yet split into events.
    pending: String,
}

impl EventReader {
    /// Connects, asks for `path`, checks the head of the answer.
    async fn open(addr: std::net::SocketAddr, path: &str) -> Self {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut stream = BufReader::new(stream);
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push(line.trim_end().to_ascii_lowercase());
        }
        assert!(head[0].starts_with("http/1.1 200"), "{head:?}");
        assert!(
            head.contains(&"content-type: text/event-stream".to_owned()),
            "{head:?}"
        );
        assert!(
            head.contains(&"transfer-encoding: chunked".to_owned()),
            "{head:?}"
        );
        Self {
            stream,
            pending: String::new(),
        }
    }

    /// The next event, or `None` when the stream ended.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(Event {
                    name,
                    data: data.join("\n"),
                });
            }
            let mut size_line = String::new();
            if self.stream.read_line(&mut size_line).await.ok()? == 0 {
                return None;
            }
            let size = usize::from_str_radix(size_line.trim(), 16).ok()?;
            if size == 0 {
                return None;
            }
            let mut chunk = vec![0; size + 2];
            self.stream.read_exact(&mut chunk).await.ok()?;
            chunk.truncate(size);
            self.pending.push_str(&String::from_utf8(chunk).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_nodes_and_tests_and_ends_on_shutdown() {
    let h = Harness::start(2, ApiOptions::default()).await;
    let doc = onslaught_api::openapi::document();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(onslaught_api::serve(
        listener,
        h.router.clone(),
        stop.clone().cancelled_owned(),
    ));

    let opened = Instant::now();
    let mut events = EventReader::open(addr, "/api/events").await;
    let first = timeout(Duration::from_secs(1), events.next())
        .await
        .expect("an event within a second")
        .unwrap();
    assert!(opened.elapsed() < Duration::from_secs(1));
    assert_eq!(first.name, "nodes", "{first:?}");
    let nodes: Value = serde_json::from_str(&first.data).unwrap();
    assert_valid(&doc, "NodeList", &nodes);
    assert_eq!(nodes["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(nodes["nodes"][0]["node_id"], "driver-1");

    // A tsunami whose view changes with every metrics message (about 20 a second).
    let request = json!({
        "test_type": "tsunami",
        "url": h.target,
        "rate": 100.0,
        "duration_ms": 1500,
        "concurrency": 2,
        "start": true,
    });
    let created = h.post("/api/tests", &request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let started = Instant::now();

    // `test` events for it until a final one; nodes keep coming at least once a second.
    let mut statuses = Vec::new();
    let mut last_nodes = Instant::now();
    let mut gaps = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let event = timeout(deadline - Instant::now(), events.next())
            .await
            .expect("the test ended on the stream")
            .unwrap();
        match event.name.as_str() {
            "nodes" => {
                gaps.push(last_nodes.elapsed());
                last_nodes = Instant::now();
            }
            "test" => {
                let test: Value = serde_json::from_str(&event.data).unwrap();
                assert_valid(&doc, "TestView", &test);
                assert_eq!(test["id"], id.as_str());
                let status = test["status"].as_str().unwrap().to_owned();
                statuses.push(status.clone());
                if status == "completed" {
                    assert!(test["aggregate"]["requests_sent"].as_u64().unwrap() > 200);
                    assert!(test["report_path"].is_string(), "{test}");
                    break;
                }
                assert!(
                    ["configuring", "running"].contains(&status.as_str()),
                    "{status}"
                );
            }
            other => panic!("unexpected event {other}"),
        }
    }
    let running = statuses.iter().filter(|s| *s == "running").count();
    assert!(running >= 3, "{statuses:?}");
    let most = (started.elapsed().as_secs_f64() * 5.0).ceil() as usize + 2;
    assert!(
        running <= most,
        "{running} events in {:?}",
        started.elapsed()
    );
    assert!(
        gaps.iter().all(|g| *g < Duration::from_millis(1500)),
        "{gaps:?}"
    );

    // The ended test is not sent again.
    let quiet_until = Instant::now() + Duration::from_millis(1200);
    while let Ok(Some(event)) = timeout(quiet_until - Instant::now(), events.next()).await {
        assert_eq!(event.name, "nodes", "{event:?}");
    }

    // Shutdown ends the stream and the server promptly.
    stop.cancel();
    let ended = timeout(Duration::from_secs(2), async {
        while events.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ended on shutdown");
    timeout(Duration::from_secs(2), server)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_holds_up_no_one() {
    let h = Harness::start(1, ApiOptions::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(onslaught_api::serve(
        listener,
        h.router.clone(),
        stop.clone().cancelled_owned(),
    ));
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut events = EventReader::open(addr, "/api/events").await;

    let mut request = h.avalanche(500);
    request["start"] = json!(true);
    let created = h.post("/api/tests", &request).await.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let ended = h.wait_ended(&id).await;
    assert_eq!(ended.aggregate.counters.requests_sent, 500);
    let seen_final = timeout(Duration::from_secs(5), async {
        while let Some(event) = events.next().await {
            if event.name == "test" && event.data.contains("\"completed\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen_final, Ok(true));
    stop.cancel();
    drop(stalled);
}
