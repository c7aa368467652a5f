//! The server's limits over real sockets: a connection stuck in its headers is closed, a body
//! that does not arrive is answered 408 and closed, and connections past the cap wait.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use onslaught_api::{ApiOptions, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::Harness;

/// Longest any wait in these tests may take.
const BOUND: Duration = Duration::from_secs(10);

/// Serves the harness's router with `limits` on a free loopback port.
async fn serve(h: &Harness, limits: ServeLimits) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = h.shutdown.clone();
    tokio::spawn(onslaught_api::serve_with(
        listener,
        h.router.clone(),
        limits,
        async move { stop.cancelled().await },
    ));
    addr
}

/// Reads until the server closes the connection (or `BOUND` passes); returns what was read
/// and how long it took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + BOUND).into(), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the server kept the connection open for {BOUND:?}; read so far: {}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    (
        String::from_utf8_lossy(&seen).into_owned(),
        started.elapsed(),
    )
}

fn limits(header: Duration, body: Duration, connections: usize) -> ServeLimits {
    ServeLimits {
        header_timeout: header,
        body_timeout: body,
        max_connections: connections,
    }
}

#[tokio::test]
async fn partial_headers_are_cut_off_at_the_header_timeout() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let addr = serve(
        &h,
        limits(Duration::from_millis(500), Duration::from_secs(60), 16),
    )
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/nodes HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut stream).await;
    assert!(
        took >= Duration::from_millis(400),
        "closed too early: {took:?}"
    );

    // A whole request on a fresh connection is still served.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_partial_body_is_answered_408_and_closed_at_the_body_timeout() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let addr = serve(
        &h,
        limits(Duration::from_secs(60), Duration::from_millis(500), 16),
    )
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/tests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"test_type\":",
        )
        .await
        .unwrap();
    let (answer, took) = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive"), "{answer}");
    assert!(
        took >= Duration::from_millis(400),
        "answered too early: {took:?}"
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let addr = serve(
        &h,
        limits(Duration::from_secs(60), Duration::from_secs(60), 2),
    )
    .await;
    const REQUEST: &[u8] = b"GET /api/nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // Two connections hold the two places without sending anything...
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    // ...so a third one gets no answer while they stay open.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(REQUEST).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a connection past the cap was served: {early:?}"
    );
    // Once one closes, the waiting one is served.
    drop(first);
    let (answer, _) = read_until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
