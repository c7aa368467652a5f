//! The dashboard ships inside the binary: a copy of `onslaught` alone in an empty folder, on a
//! machine without the source tree, serves it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills the process on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET `path` from `addr`: (status line, headers, body).
fn get(addr: &str, path: &str) -> (String, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        response[split + 4..].to_vec(),
    )
}

#[test]
fn a_binary_alone_in_an_empty_folder_serves_the_dashboard() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace.canonicalize().unwrap();
    let dist = workspace.join("dashboard/dist");
    let folder = tempfile::tempdir().unwrap();
    let bin = folder.path().join("onslaught");
    std::fs::copy(env!("CARGO_BIN_EXE_onslaught"), &bin).unwrap();

    let serve = [
        "serve",
        "--drivers",
        "1",
        "--listen",
        "127.0.0.1:0",
        "--report-dir",
        "reports",
    ];
    // As root, hide the source tree from the binary (a private mount namespace with an empty
    // tmpfs over the workspace), so nothing can be read from it at run time.
    let hidden = is_root() && Path::new("/usr/bin/unshare").exists();
    let mut command = if hidden {
        let mut c = Command::new("/usr/bin/unshare");
        c.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(r#"mount -t tmpfs tmpfs "$1" && shift && exec "$@""#)
            .arg("sh")
            .arg(&workspace)
            .arg(&bin)
            .args(serve);
        c
    } else {
        eprintln!("not root: the source tree stays visible to the binary");
        let mut c = Command::new(&bin);
        c.args(serve);
        c
    };
    let mut child = command
        .current_dir(folder.path())
        .env_remove("ONSLAUGHT_DASHBOARD_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start onslaught serve");
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let (lines, addresses) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("dashboard: http://") {
                let _ = lines.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    let addr = addresses
        .recv_timeout(Duration::from_secs(30))
        .expect("`onslaught serve` prints `dashboard: URL` within 30 s");

    let (status, headers, body) = get(&addr, "/");
    assert!(status.contains(" 200 "), "{status}");
    assert!(headers.contains("content-type: text/html"), "{headers}");
    if !dist.join("index.html").is_file() {
        assert!(
            std::env::var_os("ONSLAUGHT_REQUIRE_DASHBOARD").is_none(),
            "ONSLAUGHT_REQUIRE_DASHBOARD is set but dashboard/dist was not built"
        );
        assert!(String::from_utf8_lossy(&body).contains("not built"));
        eprintln!("dashboard/dist is not built: only the placeholder page was checked");
        return;
    }
    let index = std::fs::read(dist.join("index.html")).unwrap();
    assert!(
        body == index,
        "`/` is not the built index.html but:\n{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = get(&addr, "/tests/some-test");
    assert!(status.contains(" 200 "), "{status}");
    assert!(body == index, "dashboard routes get index.html");

    let index = String::from_utf8(index).unwrap();
    // Vite writes `./assets/NAME` (relative) or `/assets/NAME`.
    let assets: Vec<&str> = index
        .split('"')
        .filter_map(|s| s.strip_prefix('.').or(Some(s)))
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    assert!(!assets.is_empty(), "index.html references its assets");
    for asset in assets {
        let (status, headers, body) = get(&addr, asset);
        assert!(status.contains(" 200 "), "{asset}: {status}");
        let file = std::fs::read(dist.join(asset.trim_start_matches('/'))).unwrap();
        assert!(body == file, "{asset} differs from dashboard/dist");
        if asset.ends_with(".js") {
            assert!(headers.contains("javascript"), "{asset}: {headers}");
        }
    }
}

/// Whether this process runs as root (mounting needs it).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
