//! Issue 9: the built-in target's listen queue. With a small backlog, the SYNs of many drivers
//! opening their connections at once were dropped, retried a second later, and a driver started
//! a second late.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

/// More connections than tokio's default backlog (1024) or the old 128 are queued at once, none
/// accepted yet: every one completes its handshake at once instead of waiting for a SYN retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listen_queue_holds_as_many_connections_as_the_system_allows() {
    let wanted = 1_200;
    let backlog = onslaught_target::max_backlog();
    if backlog < wanted {
        eprintln!("net.core.somaxconn is {backlog}: this system cannot queue {wanted} connections");
        return;
    }
    let listener = onslaught_target::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut connecting = tokio::task::JoinSet::new();
    for _ in 0..wanted {
        connecting.spawn(async move {
            tokio::time::timeout(
                Duration::from_millis(700),
                tokio::net::TcpStream::connect(addr),
            )
            .await
        });
    }
    let mut open = Vec::new();
    let mut late = 0;
    while let Some(result) = connecting.join_next().await {
        match result.unwrap() {
            Ok(Ok(stream)) => open.push(stream),
            _ => late += 1,
        }
    }
    assert_eq!(
        late, 0,
        "{late} of {wanted} connections waited for a SYN retry"
    );
    drop(listener);
}
