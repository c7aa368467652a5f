//! A minimal HTTP/1.1 client for tests against JSON APIs on loopback (one request per
//! connection). Real clients are not needed to talk to our own servers, and this keeps test
//! dependencies small.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A response: status code, and the body parsed as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The body parsed as JSON.
    pub json: serde_json::Value,
    /// The raw body.
    pub body: String,
    /// The status line and headers, as received.
    pub head: String,
}

impl Response {
    /// The value of the first header called `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// Sends `method url` with an optional JSON body and reads the whole response.
pub fn request(method: &str, url: &str, body: Option<&serde_json::Value>) -> Response {
    try_request(method, url, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// [`request`] that says why it failed instead of panicking (for servers that may be down):
/// connecting is bounded by 2 s, reading by 30 s.
pub fn try_request(
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
) -> Result<Response, String> {
    send(method, url, body, &[])
}

/// POST JSON to `url` with `Authorization: Bearer token`.
pub fn post_authorized(url: &str, body: &serde_json::Value, token: &str) -> Response {
    send(
        "POST",
        url,
        Some(body),
        &[("Authorization", &format!("Bearer {token}"))],
    )
    .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

fn send(
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> Result<Response, String> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address = authority
        .to_socket_addrs()
        .map_err(|e| format!("resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to nothing"))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))
        .map_err(|e| format!("connect to {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if body.is_some() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(payload.as_bytes()))
        .map_err(|e| format!("write to {authority}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read from {authority}: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Response {
        status,
        json: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        body,
        head: head.to_owned(),
    })
}

/// GET `url` and parse JSON.
pub fn get(url: &str) -> Response {
    request("GET", url, None)
}

/// GET `url` and parse JSON; `None` when the server cannot be reached or the answer is cut.
pub fn try_get(url: &str) -> Option<Response> {
    try_request("GET", url, None).ok()
}

/// POST JSON to `url`.
pub fn post(url: &str, body: &serde_json::Value) -> Response {
    request("POST", url, Some(body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
