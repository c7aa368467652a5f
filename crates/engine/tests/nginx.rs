//! The engine's HTTP/1.1 client loop against nginx, plain and over TLS: keep-alive, a static
//! file of megabytes, HEAD, a chunked (gzip) body, `Connection: close`. Skipped, with the
//! reason printed, when `nginx` or `openssl` is not installed (`apt-get install nginx-light`).
#![allow(clippy::unwrap_used)] // a failed set-up step should fail the test loudly

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onslaught_engine::{Mode, RequestTemplate};
use onslaught_stats::Measurements;

mod support;
use support::{run, spec};

const BIG: usize = 3 * 1024 * 1024;

/// nginx on two free loopback ports (plain and TLS), stopped when dropped.
struct Nginx {
    child: Child,
    plain: u16,
    tls: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nginx {
    fn start() -> Option<Self> {
        for program in ["nginx", "openssl"] {
            if !installed(program) {
                eprintln!(
                    "skipped: `{program}` is not installed (apt-get install nginx-light openssl)"
                );
                return None;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let path = path.as_path();
        std::fs::create_dir(path.join("logs")).unwrap();
        std::fs::create_dir(path.join("html")).unwrap();
        let big: Vec<u8> = (0..BIG).map(|i| b"abcdefghij\n"[i % 11]).collect();
        std::fs::write(path.join("html/big.txt"), big).unwrap();
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(path.join("key.pem"))
            .arg("-out")
            .arg(path.join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "openssl could not make a certificate");
        let (plain, tls) = (free_port(), free_port());
        let root = path.join("html");
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
             error_log {dir}/logs/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n keepalive_requests 100000;\n\
             client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;\n\
             server {{\n  listen 127.0.0.1:{plain};\n  listen 127.0.0.1:{tls} ssl;\n\
             ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem;\n  root {root};\n\
             location = /ping {{ return 200 '{{\"message\":\"pong\"}}'; }}\n\
             location /gz/ {{ alias {root}/; gzip on; gzip_types *; gzip_min_length 0; }}\n\
             location = /close {{ keepalive_timeout 0; return 200 'bye'; }}\n }}\n}}\n",
            dir = path.display(),
            root = root.display(),
        );
        std::fs::write(path.join("nginx.conf"), config).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(path)
            .arg("-c")
            .arg(path.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let nginx = Nginx {
            child,
            plain,
            tls,
            _dir: dir,
        };
        let until = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", tls)).is_err() {
            assert!(Instant::now() < until, "nginx did not start: {}", log(path));
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(nginx)
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default()
}

fn assert_all_ok(m: &Measurements, count: u64) {
    let c = &m.counters;
    assert_eq!(c.requests_sent, count, "{c:?}");
    assert_eq!(c.status_codes.get(&200), Some(&count), "{c:?}");
    assert!(c.errors.values().all(|&n| n == 0), "{c:?}");
}

async fn get(url: &str, method: &str, headers: &[(&str, &str)], count: u64) -> Measurements {
    let mut s = spec(url, Mode::Avalanche, Some(count), 4);
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    s.request = RequestTemplate::new(method, url, &headers, None).unwrap();
    s.insecure = true;
    let (m, elapsed) = run(s).await;
    assert!(elapsed < Duration::from_secs(4), "{url} took {elapsed:?}");
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_plain_and_tls() {
    let Some(nginx) = Nginx::start() else {
        return;
    };
    // nginx answers gzip-compressed static files chunked: check that it does here.
    let head = raw_head(
        nginx.plain,
        "GET /gz/big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );

    for (scheme, port) in [("http", nginx.plain), ("https", nginx.tls)] {
        let base = format!("{scheme}://127.0.0.1:{port}");
        let m = get(&format!("{base}/ping"), "GET", &[], 2_000).await;
        assert_all_ok(&m, 2_000);
        assert_eq!(m.counters.bytes_received, 2_000 * 18, "{scheme}");

        let m = get(&format!("{base}/big.txt"), "GET", &[], 8).await;
        assert_all_ok(&m, 8);
        assert_eq!(m.counters.bytes_received, 8 * BIG as u64, "{scheme}");

        let m = get(&format!("{base}/big.txt"), "HEAD", &[], 100).await;
        assert_all_ok(&m, 100);
        assert_eq!(m.counters.bytes_received, 0, "{scheme}");

        let gz = [("Accept-Encoding", "gzip")];
        let m = get(&format!("{base}/gz/big.txt"), "GET", &gz, 8).await;
        assert_all_ok(&m, 8);
        let bytes = m.counters.bytes_received;
        assert!(
            bytes > 0 && bytes < 8 * BIG as u64 && bytes % 8 == 0,
            "{scheme}: {bytes}"
        );

        let m = get(&format!("{base}/close"), "GET", &[], 50).await;
        assert_all_ok(&m, 50);
        assert_eq!(m.counters.bytes_received, 50 * 3, "{scheme}");
    }
}

/// The head of nginx's answer to `request`, over a plain connection.
fn raw_head(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "nginx closed the connection");
        received.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}
