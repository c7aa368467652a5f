//! Helpers shared by the integration tests: a target served on `127.0.0.1:0`, a hyper client,
//! and raw-socket requests for the tests that watch the connection itself.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::HeaderMap;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use onslaught_target::{Target, TargetConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A target serving on a free local port until dropped or stopped.
pub struct Server {
    pub addr: SocketAddr,
    pub target: Arc<Target>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(config: TargetConfig) -> Server {
        let target = Target::new(config);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("listener address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(Arc::clone(&target).serve(listener, async {
            let _ = stop.await;
        }));
        Server {
            addr,
            target,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// Stops the server and waits for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.send(()).expect("serve is still running");
        }
        (&mut self.task)
            .await
            .expect("serve task")
            .expect("serve returns Ok");
    }

    /// A keep-alive client connection to this server.
    pub async fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(connection);
        Client { sender }
    }

    /// One request on a fresh connection.
    pub async fn get(&self, path: &str) -> Reply {
        self.connect().await.get(path).await
    }

    /// `POST path` on a fresh connection.
    pub async fn post(&self, path: &str, content_type: &str, body: &str) -> Reply {
        self.connect().await.post(path, content_type, body).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
}

impl Client {
    pub async fn get(&mut self, path: &str) -> Reply {
        let request = Request::get(path)
            .body(Full::default())
            .expect("valid request");
        self.send(request).await
    }

    /// `GET path` with these headers.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Full::default()).expect("valid request"))
            .await
    }

    /// `POST path` with `body` of `content_type`.
    pub async fn post(&mut self, path: &str, content_type: &str, body: &str) -> Reply {
        let request = Request::post(path)
            .header("content-type", content_type)
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .expect("valid request");
        self.send(request).await
    }

    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Reply {
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
        }
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// Sends a keep-alive GET for `path` on a raw socket and reads until the server closes it
/// (or `patience` passes). Returns what was read, or the error that ended it.
pub async fn raw_get_until_closed(
    addr: SocketAddr,
    path: &str,
    patience: Duration,
) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut received = Vec::new();
    tokio::time::timeout(patience, stream.read_to_end(&mut received))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "still open"))??;
    Ok(String::from_utf8_lossy(&received).into_owned())
}
