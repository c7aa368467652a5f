//! The engine's HTTP/1.1 client loop against real servers on loopback that misbehave on
//! purpose: a tiny raw server in each test answers every request with the bytes it is given
//! (chunked with extensions and trailers, bodies of megabytes in small pieces, early closes,
//! 1xx before the response, HEAD, 204/304, bodies up to the close, `Connection: close`,
//! garbage, silence). Every run must end with its requests counted, never hang.
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use onslaught_engine::{Arrivals, LoadSpec, Mode, RequestTemplate};
use onslaught_stats::{ErrorKind, Measurements};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{run, spec};

/// What the raw server does for one request.
#[derive(Clone, Debug)]
enum Act {
    /// Writes these bytes at once.
    Write(Vec<u8>),
    /// Writes these bytes in pieces of this size, each its own write.
    Pieces(Vec<u8>, usize),
    /// Waits.
    Wait(Duration),
    /// Closes the connection.
    Close,
    /// Never answers (the connection stays open until the test ends).
    Hang,
}

/// A raw HTTP/1.1 server on a free loopback port: for each request head it reads, it performs
/// `script(head)`. Returns the base URL and the count of connections accepted.
async fn serve_raw(
    script: impl Fn(&str) -> Vec<Act> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(script);
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(connection(socket, Arc::clone(&script)));
        }
    });
    (base, accepted)
}

async fn connection(mut socket: TcpStream, script: Arc<impl Fn(&str) -> Vec<Act>>) {
    // Each act's bytes go out at once (no Nagle delay behind the client's delayed ACK).
    socket.set_nodelay(true).unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let head = loop {
            if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = received.drain(..at + 4).collect();
                break String::from_utf8_lossy(&head).into_owned();
            }
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        };
        for act in script(&head) {
            let written = match act {
                Act::Write(bytes) => socket.write_all(&bytes).await,
                Act::Pieces(bytes, size) => {
                    let mut result = Ok(());
                    for piece in bytes.chunks(size) {
                        result = socket.write_all(piece).await;
                        if result.is_err() {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                    result
                }
                Act::Wait(pause) => {
                    tokio::time::sleep(pause).await;
                    Ok(())
                }
                Act::Close => return,
                Act::Hang => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
            };
            if written.is_err() {
                return;
            }
        }
    }
}

fn write(bytes: impl AsRef<[u8]>) -> Act {
    Act::Write(bytes.as_ref().to_vec())
}

/// `count` GETs of `base` over `connections`, a 5 s timeout.
fn gets(base: &str, count: u64, connections: u32) -> LoadSpec {
    spec(
        &format!("{base}/x"),
        Mode::Avalanche,
        Some(count),
        connections,
    )
}

/// Runs `spec`, which must end well before its timeout (no request may hang).
async fn run_quickly(spec: LoadSpec) -> Measurements {
    let (measured, elapsed) = run(spec).await;
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    measured
}

fn assert_all_ok(m: &Measurements, count: u64, status: u16) {
    let c = &m.counters;
    assert_eq!(c.requests_sent, count, "{c:?}");
    assert_eq!(c.responses_received, count, "{c:?}");
    assert_eq!(c.status_codes.get(&status), Some(&count), "{c:?}");
    assert!(c.errors.values().all(|&n| n == 0), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_with_extensions_and_trailers_are_decoded_in_place() {
    let (base, accepted) = serve_raw(|_| {
        vec![write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
             5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\
             x-checksum: 1\r\nx-other: 2\r\n\r\n",
        )]
    })
    .await;
    let m = run_quickly(gets(&base, 200, 2)).await;
    assert_all_ok(&m, 200, 200);
    assert_eq!(m.counters.bytes_received, 200 * 31);
    assert_eq!(accepted.load(Ordering::Relaxed), 2, "kept alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_megabytes_in_small_pieces_are_counted_whole() {
    const SIZE: usize = 5 * 1024 * 1024;
    let body: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let mut response = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").into_bytes();
    response.extend_from_slice(&body);
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in body.chunks(1000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (base, accepted) = serve_raw(move |head| {
        if head.starts_with("GET /x?chunked") {
            vec![Act::Pieces(chunked.clone(), 1500)]
        } else {
            vec![Act::Pieces(response.clone(), 3000)]
        }
    })
    .await;
    let m = run_quickly(gets(&base, 6, 2)).await;
    assert_all_ok(&m, 6, 200);
    assert_eq!(m.counters.bytes_received, 6 * SIZE as u64);
    let m = run_quickly(spec(
        &format!("{base}/x?chunked"),
        Mode::Avalanche,
        Some(4),
        2,
    ))
    .await;
    assert_all_ok(&m, 4, 200);
    assert_eq!(m.counters.bytes_received, 4 * SIZE as u64);
    assert_eq!(accepted.load(Ordering::Relaxed), 4, "kept alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_in_the_middle_of_a_body_is_a_reset_not_a_hang() {
    let (base, _) = serve_raw(|head| {
        let cut = if head.contains("chunked") {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123"
        } else {
            "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial body"
        };
        vec![write(cut), Act::Close]
    })
    .await;
    for url in [format!("{base}/x"), format!("{base}/x?chunked")] {
        let m = run_quickly(spec(&url, Mode::Avalanche, Some(20), 2)).await;
        let c = &m.counters;
        assert_eq!(c.requests_sent, 20, "{c:?}");
        assert_eq!(c.errors.get(&ErrorKind::Reset), Some(&20), "{c:?}");
        assert_eq!(
            c.error_reasons
                .get("reset: connection closed before the response was complete"),
            Some(&20),
            "{c:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interim_responses_are_skipped() {
    let (base, accepted) = serve_raw(|_| {
        vec![
            write("HTTP/1.1 100 Continue\r\n\r\n"),
            write("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"),
            write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ]
    })
    .await;
    let m = run_quickly(gets(&base, 100, 1)).await;
    assert_all_ok(&m, 100, 200);
    assert_eq!(m.counters.bytes_received, 200);
    assert_eq!(accepted.load(Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_204_and_304_responses_have_no_body() {
    let (base, accepted) = serve_raw(|head| {
        let status = if head.starts_with("HEAD") {
            "200 OK"
        } else if head.contains("/x?n") {
            "304 Not Modified"
        } else {
            "204 No Content"
        };
        // A length and no body: the next response follows at once on the same connection.
        vec![write(format!(
            "HTTP/1.1 {status}\r\nContent-Length: 1000\r\n\r\n"
        ))]
    })
    .await;
    let mut head = gets(&base, 100, 1);
    head.request = RequestTemplate::new("HEAD", &format!("{base}/x"), &[], None).unwrap();
    let m = run_quickly(head).await;
    assert_all_ok(&m, 100, 200);
    assert_eq!(m.counters.bytes_received, 0);
    let m = run_quickly(gets(&base, 100, 1)).await;
    assert_all_ok(&m, 100, 204);
    let m = run_quickly(spec(&format!("{base}/x?n"), Mode::Avalanche, Some(100), 1)).await;
    assert_all_ok(&m, 100, 304);
    assert_eq!(accepted.load(Ordering::Relaxed), 3, "one connection each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_without_length_runs_to_the_close_and_connection_close_reconnects() {
    let (base, accepted) = serve_raw(|head| {
        if head.contains("/x?close") {
            vec![
                write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"),
                Act::Close,
            ]
        } else {
            vec![
                write("HTTP/1.1 200 OK\r\n\r\n"),
                Act::Pieces(vec![b'z'; 50_000], 4096),
                Act::Close,
            ]
        }
    })
    .await;
    let m = run_quickly(gets(&base, 30, 2)).await;
    assert_all_ok(&m, 30, 200);
    assert_eq!(m.counters.bytes_received, 30 * 50_000);
    assert_eq!(
        accepted.load(Ordering::Relaxed),
        30,
        "one connection per response"
    );
    let m = run_quickly(spec(
        &format!("{base}/x?close"),
        Mode::Avalanche,
        Some(30),
        2,
    ))
    .await;
    assert_all_ok(&m, 30, 200);
    assert_eq!(accepted.load(Ordering::Relaxed), 60);
}

/// A server that closes kept-alive connections after 30 ms idle (as servers do after their
/// keep-alive timeout): a request after that goes on a new connection, and nothing is counted
/// as an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_while_idle_are_replaced_without_errors() {
    let (base, accepted) = serve_raw(|_| {
        vec![
            write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            Act::Wait(Duration::from_millis(30)),
            Act::Close,
        ]
    })
    .await;
    let m = run_quickly(spec(
        &format!("{base}/x"),
        Mode::Scheduled(Arrivals::every(Duration::from_millis(100))),
        Some(8),
        1,
    ))
    .await;
    assert_all_ok(&m, 8, 200);
    assert_eq!(accepted.load(Ordering::Relaxed), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_a_clear_error() {
    let (base, accepted) = serve_raw(|head| {
        if head.contains("/x?after") {
            // A whole response, then bytes nobody asked for (pipelined garbage): the response
            // counts, the connection is not trusted again.
            vec![write(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\x00\x01garbage",
            )]
        } else if head.contains("/x?big") {
            let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
            for _ in 0..20 {
                big.extend_from_slice(format!("x-big: {}\r\n", "y".repeat(4000)).as_bytes());
            }
            big.extend_from_slice(b"\r\n");
            vec![Act::Write(big)]
        } else {
            vec![write("SSH-2.0-OpenSSH_9.2\r\n\r\n")]
        }
    })
    .await;
    let m = run_quickly(gets(&base, 20, 2)).await;
    let c = &m.counters;
    assert_eq!(c.errors.get(&ErrorKind::Other), Some(&20), "{c:?}");
    assert_eq!(
        c.error_reasons
            .get("other: invalid response: invalid HTTP version"),
        Some(&20),
        "{c:?}"
    );
    let m = run_quickly(spec(&format!("{base}/x?big"), Mode::Avalanche, Some(4), 2)).await;
    let c = &m.counters;
    assert_eq!(
        c.error_reasons
            .get("other: invalid response: response head too large"),
        Some(&4),
        "{c:?}"
    );
    let before = accepted.load(Ordering::Relaxed);
    let m = run_quickly(spec(
        &format!("{base}/x?after"),
        Mode::Avalanche,
        Some(20),
        2,
    ))
    .await;
    assert_all_ok(&m, 20, 200);
    assert_eq!(m.counters.bytes_received, 40);
    assert_eq!(accepted.load(Ordering::Relaxed) - before, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    let (base, _) = serve_raw(|_| vec![Act::Hang]).await;
    let mut s = gets(&base, 4, 4);
    s.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let m = run_quickly(s).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let c = &m.counters;
    assert_eq!(c.requests_sent, 4, "{c:?}");
    assert_eq!(c.errors.get(&ErrorKind::Timeout), Some(&4), "{c:?}");
}

/// The worker's one timer, set for earlier requests, neither fires a later request's timeout
/// early nor lets it run late: 50 quick answers, then silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_after_quick_responses_take_the_whole_timeout() {
    let answered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&answered);
    let (base, _) = serve_raw(move |_| {
        if count.fetch_add(1, Ordering::Relaxed) < 50 {
            vec![write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")]
        } else {
            vec![Act::Hang]
        }
    })
    .await;
    let mut s = gets(&base, 55, 1);
    s.timeout = Duration::from_millis(300);
    let (m, elapsed) = run(s).await;
    let c = &m.counters;
    assert_eq!(c.status_codes.get(&200), Some(&50), "{c:?}");
    assert_eq!(c.errors.get(&ErrorKind::Timeout), Some(&5), "{c:?}");
    // Five timeouts in a row, each the whole 300 ms.
    assert!(
        elapsed >= Duration::from_millis(1_500) && elapsed < Duration::from_millis(2_500),
        "took {elapsed:?}"
    );
    assert_eq!(m.latency.len(), 50, "only responses have a latency");
}
